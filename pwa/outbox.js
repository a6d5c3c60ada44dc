// The outbox: reports wait in IndexedDB until the server has answered them. Used by the page and by the
// service worker's Background Sync handler, so both send through exactly the same state machine.
//   queued --201/200--> delivered (receipt kept)      queued --409--> conflict (server's words shown)
//   queued --401------> queued, session marked expired (log in again; nothing is lost)
//   queued --other 4xx--> fix (server's messages shown; edited and resent with the SAME id)
//   queued --5xx/network--> queued, retried with exponential back-off
// A report with files goes in three idempotent steps, each remembered in the entry as soon as it is
// answered, so a retry resumes where the last one stopped: (1) PUT each file by its SHA-256 (f.stored),
// (2) POST the report (record.posted), (3) POST each link (f.linked; the bytes leave the phone then).
// A file the server refuses (413/415/422) puts the report in fix with the message on that file.
import * as db from './db.js';

export const PATHS = { visit: 'visits', complaint: 'complaints', correction: 'corrections' };
const MAX_DELAY_MS = 5 * 60 * 1000;
const channel = new BroadcastChannel('pantau-outbox');
const notify = () => channel.postMessage('changed');

export const session = () => db.get('kv', 'session');
export const list = async () => (await db.all('outbox')).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
export const unsent = async () => (await db.all('outbox')).filter(r => r.state !== 'delivered');

// The id is fixed here, when the officer taps send and before any network call: every retry reuses it,
// which is what lets the server recognise a resend instead of recording the report twice.
// files: [{sha256, size, type, name, data: Blob}] (forms.readFiles), added to those the entry already has.
export async function enqueue(kind, body, summary, id = crypto.randomUUID(), files = []) {
  const previous = await db.get('outbox', id);
  const record = {
    id, kind, summary, body: { ...body, id }, files: merge(previous?.files, files),
    state: 'queued', attempts: 0, nextAt: 0, problem: null,
    createdAt: previous?.createdAt || new Date().toISOString(),
  };
  await db.put('outbox', record);
  notify();
  return record;
}

// A 409 means this id already names different content on the server: only a new id can carry it.
export async function resendAsNew(id) {
  const old = await db.get('outbox', id);
  const fresh = await enqueue(old.kind, old.body, old.summary, undefined, old.files);
  await db.del('outbox', id);
  notify();
  return fresh;
}

// The same bytes twice (picked twice, or re-added) are one file.
const merge = (old = [], add = []) => [...old, ...add.filter((f, i) =>
  !old.some(o => o.sha256 === f.sha256) && add.findIndex(a => a.sha256 === f.sha256) === i)];

// The officer's answer to a refused file: drop it and/or add others; with no refused file left, send again.
export async function changeFiles(id, drop, add) {
  const record = await db.get('outbox', id);
  record.files = merge(record.files.filter(f => f.sha256 !== drop), add);
  if (!record.files.some(f => f.problem)) Object.assign(record, { state: 'queued', attempts: 0, nextAt: 0, problem: null });
  await db.put('outbox', record);
  notify();
}

function describe(problem) {
  const lines = Object.entries(problem.errors || {}).map(([field, msgs]) =>
    `${field}: ${[].concat(msgs).map(m => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ')}`);
  return { title: problem.title || '', detail: problem.detail || '', errors: problem.errors || {}, text: lines.join('\n') || problem.detail || problem.title || '' };
}

async function api(path, token, options = {}, type = 'application/json') {
  return fetch('/api/v1/' + path, {
    ...options,
    headers: { 'Content-Type': type, Authorization: 'Bearer ' + token },
    signal: AbortSignal.timeout(20000 + (options.body?.size || 0) / 10),  // a file gets 10 KB/s at worst
  });
}

// One step of sending a report: its parsed answer on 200/201; otherwise what happened is written on the
// entry (fix, conflict, back-off, expired session) and a word for sendQueued comes back instead.
async function step(record, file, path, token, options, type) {
  let response, data;
  try {
    response = await api(path, token, options, type);
    data = await (response.ok ? response.json() : response.json().catch(() => ({ title: response.statusText })));
  } catch {
    response = null;  // no (whole) answer: the server may or may not have acted, so repeat this step later
  }
  const status = response ? response.status : 0;
  if (status === 200 || status === 201) return data;
  if (status === 401) {
    await db.put('kv', { ...(await session()), expired: true }, 'session');
    return 'auth';
  }
  if (status >= 400 && status < 500) {
    const problem = { ...describe(data), status };
    if (file) file.problem = problem.text;
    Object.assign(record, { state: status === 409 && !file ? 'conflict' : 'fix', problem });
  } else {
    record.attempts += 1;
    const delay = Math.min(MAX_DELAY_MS, 2000 * 2 ** (record.attempts - 1));
    record.nextAt = Date.now() + delay * (0.75 + Math.random() / 2);
    record.problem = status ? { status, text: 'HTTP ' + status } : null;
  }
  await db.put('outbox', record);
  notify();
  return status ? 'answered' : 'offline';
}

async function sendOne(record, token) {
  const files = record.files ||= [];
  const path = PATHS[record.kind];
  const done = () => { record.attempts = 0; return db.put('outbox', record).then(notify); };
  let answer;
  for (const f of files.filter(f => !f.stored)) {
    answer = await step(record, f, 'attachments/' + f.sha256, token, { method: 'PUT', body: f.data }, 'application/octet-stream');
    if (typeof answer === 'string') return answer;
    f.stored = true;
    await done();
  }
  if (!record.posted) {
    answer = await step(record, null, path, token, { method: 'POST', body: JSON.stringify(record.body) });
    if (typeof answer === 'string') return answer;
    Object.assign(record, { posted: true, position: answer.position, status: answer.record.status, version: answer.record.version });
    await done();
  }
  for (const f of files.filter(f => !f.linked)) {
    answer = await step(record, f, `${path}/${record.id}/attachments`, token, { method: 'POST', body: JSON.stringify({ sha256: f.sha256 }) });
    if (typeof answer === 'string') return answer;
    f.linked = true;
    record.version = answer.record.version;
    await done();
  }
  // Delivered: keep the receipt and a summary, drop the body (it may hold a NIK) and the files' bytes and
  // names (a name may hold a voter's) from the phone; hash, size and type stay with the receipt.
  Object.assign(record, { state: 'delivered', body: null, problem: null, deliveredAt: new Date().toISOString(),
    files: files.map(({ sha256, size, type }) => ({ sha256, size, type, linked: true })) });
  await done();
  return 'answered';
}

async function sendQueued(force) {
  const s = await session();
  if (!s || s.expired) return { offline: false, auth: Boolean(s) };
  let offline = false;
  const oldestFirst = (await db.all('outbox')).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const record of oldestFirst) {
    if (record.state !== 'queued' || (!force && record.nextAt > Date.now())) continue;
    const outcome = await sendOne(record, s.token);
    if (outcome === 'auth') return { offline, auth: true };
    offline ||= outcome === 'offline';
  }
  return { offline, auth: false };
}

// One sender at a time across the page and the service worker; a second caller waits its turn and then
// finds the reports already delivered, so nothing is ever posted twice concurrently.
const exclusive = fn => (navigator.locks ? navigator.locks.request('pantau-outbox', fn) : fn());
export const sendAll = ({ force = false } = {}) => exclusive(() => sendQueued(force));

// Logging out forgets everything on the phone, queued personal data included (the officer confirmed).
export const wipe = () => exclusive(async () => {
  await db.clear('outbox');
  await db.clear('kv');
  notify();
});

// When the next automatic retry is due (ms from now), or null when nothing waits.
export async function nextRetryIn() {
  const due = (await unsent()).filter(r => r.state === 'queued').map(r => r.nextAt);
  return due.length ? Math.max(0, Math.min(...due) - Date.now()) : null;
}

// Current lifecycle status of delivered reports (complaints and corrections move on after delivery).
export async function refreshStatuses() {
  const s = await session();
  if (!s || s.expired) return;
  for (const record of await db.all('outbox')) {
    if (record.state !== 'delivered') continue;
    try {
      const response = await api(`${PATHS[record.kind]}/${record.id}`, s.token);
      if (!response.ok) continue;
      const current = await response.json();
      if (current.status !== record.status) await db.put('outbox', { ...record, status: current.status });
    } catch {
      return;  // offline: keep the last known status
    }
  }
  notify();
}
