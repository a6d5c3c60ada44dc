// The page: login, tabs, forms, the outbox counter and "my reports". Sending lives in outbox.js.
import * as db from './db.js';
import * as outbox from './outbox.js';
import * as forms from './forms.js';
import * as push from './push.js';
import { t, apply, lang, setLang } from './i18n.js';

const $ = sel => document.querySelector(sel);
const reportForms = [...document.querySelectorAll('form.report')];
const dirty = new Set();
let position = null;
let retryTimer;
let registration;

async function api(path, options = {}) {
  const s = await outbox.session();
  const headers = { 'Content-Type': 'application/json', ...(s ? { Authorization: 'Bearer ' + s.token } : {}) };
  return fetch('/api/v1/' + path, { ...options, headers, signal: AbortSignal.timeout(15000) });
}

// --- reference data, cached so the forms work offline ---------------------------------------------
async function refreshReferenceData() {
  for (const [key, path] of [['checklist', 'checklist'], ['committees', 'committees']]) {
    try {
      const response = await api(path);
      if (response.ok) await db.put('kv', await response.json(), key);
    } catch { /* offline: the cached copy serves */ }
  }
  await renderForms();
}

async function renderForms() {
  const committees = await db.get('kv', 'committees');
  forms.renderChoices(document, committees?.items);
  forms.renderChecklist($('#checklist'), await db.get('kv', 'checklist'));
  for (const form of reportForms) forms.showRelevant(form);
}

// --- outbox -----------------------------------------------------------------------------------------
async function send(force = true) {
  const result = await outbox.sendAll({ force });
  if (result.auth) return showLogin(t('session_expired'));
  $('#notice').textContent = result.offline ? t('offline') : '';
  // Our own attempt found no network: let the browser wake the service worker when it returns.
  if (result.offline && registration?.sync) registration.sync.register('outbox').catch(() => {});
  await render();
}

function scheduleRetry(ms) {
  clearTimeout(retryTimer);
  if (ms !== null) retryTimer = setTimeout(() => send(false), ms + 50);
}

// The server's messages, with its field names shown as the form's labels.
function problemText(problem) {
  const lines = Object.entries(problem?.errors || {}).map(([f, m]) => `${t(f)}: ${[].concat(m).join(' ')}`);
  return lines.join('\n') || problem?.text || '';
}

function stateText(r) {
  const parts = [t('state_' + r.state)];
  if (r.state === 'delivered') parts.push(t('receipt', { n: r.position }), t('status', { s: t('s_' + r.status) }));
  return parts.join(' · ');
}

const ACCEPT = 'image/jpeg,image/png,application/pdf';
const para = (className, textContent) => Object.assign(document.createElement('p'), { className, textContent });

function reportItem(r, names) {
  const li = document.createElement('li');
  Object.assign(li.dataset, { id: r.id, state: r.state, kind: r.kind });
  const title = document.createElement('strong');
  title.textContent = [t('tab_' + r.kind), r.summary.sub && t(r.summary.sub), names[r.summary.committee] || r.summary.committee].filter(Boolean).join(' · ');
  const state = para('state', stateText(r));
  li.append(title, state);
  const files = r.files || [];
  if (files.length) {
    li.dataset.files = files.filter(f => f.linked).length;
    li.append(para('files', t('files_sent', { n: li.dataset.files, m: files.length })));
  }
  if (r.problem?.text && r.state !== 'queued') {
    li.append(para('problem', r.state === 'conflict' ? t('conflict', { m: problemText(r.problem) }) : problemText(r.problem)));
  }
  const refused = r.state === 'fix' && files.filter(f => f.problem);
  // A refused file is removed or replaced right here; the report itself may already be on the server.
  for (const f of refused || []) {
    const name = `${f.name} (${f.size < 1e6 ? Math.ceil(f.size / 1e3) + ' KB' : (f.size / 1e6).toFixed(1) + ' MB'})`;
    const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: t('remove_file', { f: name }) });
    remove.onclick = () => outbox.changeFiles(r.id, f.sha256).then(() => send());
    const label = Object.assign(document.createElement('label'), { textContent: t('replace_file', { f: name }) });
    const input = Object.assign(document.createElement('input'), { type: 'file', accept: ACCEPT, multiple: true });
    input.onchange = async () => {
      const { files: add, problem } = await forms.readFiles(input.files);
      if (problem) return ($('#notice').textContent = problem);
      await outbox.changeFiles(r.id, f.sha256, add);
      await send();
    };
    label.append(input);
    li.append(remove, label);
  }
  if (refused?.length) return li;
  if (r.state === 'fix' || r.state === 'conflict') {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = t(r.state === 'fix' ? 'fix' : 'resend_new');
    button.onclick = () => (r.state === 'fix' ? edit(r) : outbox.resendAsNew(r.id).then(() => send()));
    li.append(button);
  }
  return li;
}

async function render() {
  const reports = await outbox.list();
  $('#unsent-count').textContent = reports.filter(r => r.state !== 'delivered').length;
  const names = Object.fromEntries(((await db.get('kv', 'committees'))?.items || []).map(c => [c.code, c.name]));
  const items = reports.map(r => reportItem(r, names));
  if (!items.length) items.push(Object.assign(document.createElement('li'), { textContent: t('no_reports') }));
  $('#report-list').replaceChildren(...items);
  scheduleRetry(await outbox.nextRetryIn());
}

function edit(record) {
  const form = document.getElementById(record.kind);
  forms.fill(form, record.body);
  form.dataset.editId = record.id;
  form.querySelector('.editing').hidden = false;
  forms.showProblems(form, Object.keys(record.problem?.errors || {}).map(f => [f, '']));
  form.querySelector('.error').textContent = problemText(record.problem);
  showTab(record.kind);
}

async function submitReport(event) {
  event.preventDefault();
  const form = event.target;
  const { body, problems } = forms.read(form, await db.get('kv', 'checklist'));
  if (problems) return forms.showProblems(form, problems);
  // Files are checked, hashed and stored with the report before any network call.
  form.inert = true;  // hashing big photos takes a moment: a second tap must not queue a second report
  const { files, problem } = await forms.readFiles(form.elements.files.files).finally(() => { form.inert = false; });
  if (problem) return forms.showProblems(form, [['files', problem]]);
  body.device_time = new Date().toISOString();
  if (position && Date.now() - position.at < 10 * 60 * 1000) body.location = position.location;
  const sub = body.category ? 'cat_' + body.category : body.kind ? 'k_' + body.kind : '';
  try {
    await outbox.enqueue(form.dataset.kind, body, { committee: body.committee, sub }, form.dataset.editId || undefined, files);
  } catch {  // the phone's storage is full: say so and keep the form as it is
    return forms.showProblems(form, [['files', t('err_store')]]);
  }
  delete form.dataset.editId;
  form.querySelector('.editing').hidden = true;
  form.reset();
  forms.showProblems(form, []);
  forms.showRelevant(form);
  dirty.delete(form);
  $('#notice').textContent = t('saved');
  await render();
  await send();
}

// --- views -------------------------------------------------------------------------------------------
function showTab(name) {
  for (const el of [...reportForms, $('#reports')]) el.hidden = el.id !== name;
  for (const b of document.querySelectorAll('[data-tab]')) b.setAttribute('aria-current', b.dataset.tab === name ? 'page' : 'false');
  if (name === 'reports') outbox.refreshStatuses().then(render);
  else locate();
}

// Location is attached when the officer allows it; asking never blocks a report.
function locate() {
  navigator.geolocation?.getCurrentPosition(p => {
    const { latitude, longitude, accuracy } = p.coords;
    position = { at: Date.now(), location: { latitude, longitude, ...(accuracy <= 100000 ? { accuracy_m: accuracy } : {}) } };
  }, () => {}, { maximumAge: 300000, timeout: 20000 });
}

function showLogin(message = '') {
  $('#app-view').hidden = true;
  $('#login-view').hidden = false;
  $('#login-error').textContent = message;
}

async function showApp() {
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  push.offer();  // not awaited: the notification card never holds up the forms
  showTab('visit');
  await renderForms();
  await render();
  await refreshReferenceData();
  await send();
  await outbox.refreshStatuses();
}

async function login(event) {
  event.preventDefault();
  const username = $('#username').value.trim();
  const previous = await outbox.session();
  if (previous && previous.username !== username && (await outbox.unsent()).length) {
    return showLogin(t('login_other', { u: previous.username }));
  }
  let response;
  try {
    response = await api('auth/token', { method: 'POST', body: JSON.stringify({ username, password: $('#password').value }) });
  } catch {
    return showLogin(t('login_offline'));
  }
  if (response.status !== 201) return showLogin(t('login_failed'));
  const { token, username: name, role, committee, expires_at } = await response.json();
  await db.put('kv', { token, username: name, role, committee, expires_at }, 'session');
  // Ask the browser not to evict our storage under pressure: queued reports must survive a full phone.
  navigator.storage?.persist?.().catch(() => {});
  $('#password').value = '';
  await showApp();
}

async function logout() {
  const n = (await outbox.unsent()).length;
  if (!confirm(t('logout_confirm', { n }))) return;
  await push.end();  // best effort, while the session can still sign the request
  await api('auth/token', { method: 'DELETE' }).catch(() => {});
  await outbox.wipe();
  showLogin();
}

// --- a new version waits until the officer agrees (or the next launch); never mid-form ----------------
// A phone on a bad network may lose the worker script or a shell file while installing: the install then
// fails, and the app would not open offline before its next launch. Try again, with growing pauses,
// for as long as the page is open.
const INSTALL_RETRY_FIRST_MS = 2000;
const INSTALL_RETRY_MAX_MS = 60000;

async function installWorker() {
  for (let pause = INSTALL_RETRY_FIRST_MS; ; pause = Math.min(2 * pause, INSTALL_RETRY_MAX_MS)) {
    try {
      const registered = await navigator.serviceWorker.register('/sw.js', { type: 'module' });
      if (await installed(registered)) return registered;
    } catch { /* the worker script did not arrive */ }
    await new Promise(resolve => setTimeout(resolve, pause));
  }
}

// Whether the registration ends up with a worker that installed (true) or its install failed (false).
function installed(registered) {
  const worker = registered.installing;
  if (!worker) return Promise.resolve(Boolean(registered.active || registered.waiting));
  return new Promise(resolve => {
    const settle = () => {
      if (worker.state === 'redundant') resolve(Boolean(registered.active || registered.waiting));
      else if (worker.state !== 'installing') resolve(true);
    };
    worker.addEventListener('statechange', settle);
    settle();  // it may have got there already
  });
}

async function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  registration = await installWorker();
  const offer = () => { $('#update').hidden = !(registration.waiting && navigator.serviceWorker.controller); };
  offer();
  registration.addEventListener('updatefound', () => registration.installing?.addEventListener('statechange', offer));
  let agreed = false;
  $('#update-apply').onclick = () => {
    if (dirty.size && !confirm(t('update_dirty'))) return;
    agreed = true;
    registration.waiting?.postMessage('skip-waiting');
  };
  // Reload only for the version the officer accepted (the first install's claim changes nothing visible).
  navigator.serviceWorker.addEventListener('controllerchange', () => { if (agreed) location.reload(); });
}

function wire() {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', logout);
  $('#send-now').addEventListener('click', () => send());
  push.wire();
  $('#lang').addEventListener('click', async () => {
    setLang(lang === 'id' ? 'en' : 'id');
    apply();
    await renderForms();
    await render();
  });
  for (const b of document.querySelectorAll('[data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  for (const form of reportForms) {
    form.addEventListener('submit', submitReport);
    form.addEventListener('input', () => dirty.add(form));
    form.addEventListener('change', () => forms.showRelevant(form));
  }
  window.addEventListener('online', () => send());
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') send(); });
  new BroadcastChannel('pantau-outbox').onmessage = () => render();
}

async function boot() {
  apply();
  wire();
  registerWorker().catch(() => {});
  const s = await outbox.session();
  if (!s) return showLogin();
  if (s.expired) {
    $('#username').value = s.username;
    return showLogin(t('session_expired'));
  }
  await showApp();
}

boot();
