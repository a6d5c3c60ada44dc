// The three report forms: build their choices, read them into API bodies, refill them for fixing.
import { t, lang } from './i18n.js';

const CHOICES = {
  cat_: ['voter_registration', 'neutrality', 'technical', 'logistics', 'service', 'other'],
  k_: ['add_to_dptb', 'move_tps', 'fix_personal_data', 'mark_tms', 'reinstate'],
  r_: ['deceased', 'moved', 'under_age', 'tni_polri'],
};
const NEEDS_TARGET = ['add_to_dptb', 'move_tps'];

function option(value, text) {
  const el = document.createElement('option');
  el.value = value;
  el.textContent = text;
  return el;
}

function setChoices(select, pairs) {
  const chosen = select.value;
  select.replaceChildren(option('', t('choose')), ...pairs.map(([v, text]) => option(v, text)));
  select.value = pairs.length === 1 ? pairs[0][0] : chosen;
}

export function renderChoices(root, committees) {
  for (const select of root.querySelectorAll('select[data-options]')) {
    const prefix = select.dataset.options;
    setChoices(select, CHOICES[prefix].map(v => [v, t(prefix + v)]));
  }
  for (const select of root.querySelectorAll('select[name=committee]')) {
    setChoices(select, (committees || []).map(c => [c.code, `${c.name} (${c.code})`]));
  }
}

export function renderChecklist(fieldset, checklist) {
  const ticked = new Set([...fieldset.querySelectorAll('input:checked')].map(i => i.value));
  fieldset.replaceChildren(fieldset.querySelector('legend'));
  for (const item of checklist?.items || []) {
    const label = document.createElement('label');
    label.className = 'check';
    const box = document.createElement('input');
    Object.assign(box, { type: 'checkbox', name: 'checklist', value: item.key, checked: ticked.has(item.key) });
    label.append(box, ' ', lang === 'en' ? item.label_en : item.label_id);
    fieldset.append(label);
  }
}

// Shows only the fields the chosen correction kind uses.
export function showRelevant(form) {
  const kind = form.elements.kind?.value;
  for (const el of form.querySelectorAll('[data-when]')) el.hidden = !el.dataset.when.split(' ').includes(kind);
}

const value = (form, name) => (form.elements[name]?.value || '').trim();
const labelOf = field => field.labels?.[0]?.textContent || field.name;

// Reads a form into the API body (without id, time and place, which are fixed when it is sent).
// Returns {body} or {problems: [[field, message]]}.
export function read(form, checklist) {
  const problems = [];
  const need = name => { if (!value(form, name)) problems.push([name, t('err_required', { f: labelOf(form.elements[name]) })]); };
  const body = { committee: value(form, 'committee') };
  need('committee');
  const kind = form.dataset.kind;
  if (kind === 'visit') {
    if (!checklist) problems.push(['checklist', t('err_no_data')]);
    const ticked = new Set([...form.querySelectorAll('input[name=checklist]:checked')].map(i => i.value));
    body.checklist_version = checklist?.version;
    body.checklist = Object.fromEntries((checklist?.items || []).map(i => [i.key, ticked.has(i.key)]));
    body.findings = value(form, 'findings');
    body.follow_ups = value(form, 'follow_ups').split('\n').map(s => s.trim()).filter(Boolean);
  } else if (kind === 'complaint') {
    need('category'); need('description');
    Object.assign(body, { category: value(form, 'category'), description: value(form, 'description') });
    if (value(form, 'complainant')) body.complainant = value(form, 'complainant');
  } else {
    need('kind'); need('full_name');
    Object.assign(body, { kind: value(form, 'kind'), nik: value(form, 'nik'), full_name: value(form, 'full_name'), details: value(form, 'details') });
    if (!/^\d{16}$/.test(body.nik)) problems.push(['nik', t('err_nik')]);
    if (value(form, 'tps')) body.tps = value(form, 'tps');
    if (NEEDS_TARGET.includes(body.kind)) { need('target_tps'); body.target_tps = value(form, 'target_tps'); }
    if (body.kind === 'mark_tms') { need('tms_reason'); body.tms_reason = value(form, 'tms_reason'); }
  }
  return problems.length ? { problems } : { body };
}

// Puts a queued body back into its form so the officer can fix what the server refused.
export function fill(form, body) {
  form.reset();
  for (const [name, v] of Object.entries(body)) {
    const field = form.elements[name];
    if (name === 'checklist') for (const box of form.querySelectorAll('input[name=checklist]')) box.checked = Boolean(v[box.value]);
    else if (name === 'follow_ups') field.value = v.join('\n');
    else if (field && typeof v === 'string') field.value = v;
  }
  showRelevant(form);
}

const MAX_FILE = 5 * 1024 * 1024;
const MAGIC = [['\xff\xd8\xff', 'image/jpeg'], ['\x89PNG\r\n\x1a\n', 'image/png'], ['%PDF-', 'application/pdf']];

// The chosen files, checked as the server checks them (at most 5 MB; JPEG, PNG or PDF by their first bytes,
// never by name) and hashed, before anything is queued: {files: [{sha256, size, type, name, data}]} or
// {problem}. The bytes kept are exactly the bytes hashed, even if the file changes on the phone later.
export async function readFiles(list) {
  const files = [];
  for (const file of list || []) {
    if (file.size > MAX_FILE) return { problem: t('err_file_size', { f: file.name }) };
    const bytes = new Uint8Array(await file.arrayBuffer());
    const type = MAGIC.find(([magic]) => String.fromCharCode(...bytes.subarray(0, 8)).startsWith(magic))?.[1];
    if (!type) return { problem: t('err_file_type', { f: file.name }) };
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    files.push({ sha256: Array.from(hash, b => b.toString(16).padStart(2, '0')).join(''), size: bytes.length, type,
      name: file.name, data: new Blob([bytes], { type }) });
  }
  return { files };
}

// problems: [[field, message]]; marks the fields invalid and lists every message in the form's alert.
export function showProblems(form, problems) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const [name] of problems) form.elements[name]?.setAttribute?.('aria-invalid', 'true');
  form.querySelector('.error').textContent = problems.map(([, message]) => message).join(' ');
}
