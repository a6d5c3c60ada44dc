// The outbox: reports wait in IndexedDB until the server has answered them. Used by the page and by the
// service worker's Background Sync handler, so both send through exactly the same state machine.
//   queued --201/200--> delivered (receipt kept)      queued --409--> conflict (server's words shown)
//   queued --401------> queued, session marked expired (log in again; nothing is lost)
//   queued --other 4xx--> fix (server's messages shown; edited and resent with the SAME id)
//   queued --5xx/network--> queued, retried with exponential back-off
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
export async function enqueue(kind, body, summary, id = crypto.randomUUID()) {
  const previous = await db.get('outbox', id);
  const record = {
    id, kind, summary, body: { ...body, id },
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
  const fresh = await enqueue(old.kind, old.body, old.summary);
  await db.del('outbox', id);
  notify();
  return fresh;
}

function describe(problem) {
  const lines = Object.entries(problem.errors || {}).map(([field, msgs]) =>
    `${field}: ${[].concat(msgs).map(m => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ')}`);
  return { title: problem.title || '', detail: problem.detail || '', errors: problem.errors || {}, text: lines.join('\n') || problem.detail || problem.title || '' };
}

async function api(path, token, options = {}) {
  return fetch('/api/v1/' + path, {
    ...options,
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token },
    signal: AbortSignal.timeout(20000),
  });
}

async function sendOne(record, token) {
  let response, receipt;
  try {
    response = await api(PATHS[record.kind], token, { method: 'POST', body: JSON.stringify(record.body) });
    if (response.ok) receipt = await response.json();
  } catch {
    response = null;  // no (whole) answer: the server may or may not have it, so resend the same id later
  }
  const status = response ? response.status : 0;
  if (status === 200 || status === 201) {
    // Delivered: keep the receipt and a summary, drop the body (it may hold a NIK) from the phone.
    Object.assign(record, { state: 'delivered', body: null, problem: null, deliveredAt: new Date().toISOString(),
      position: receipt.position, status: receipt.record.status, version: receipt.record.version });
  } else if (status === 401) {
    await db.put('kv', { ...(await session()), expired: true }, 'session');
    return 'auth';
  } else if (status >= 400 && status < 500) {
    const problem = describe(await response.json().catch(() => ({ title: response.statusText })));
    Object.assign(record, { state: status === 409 ? 'conflict' : 'fix', problem: { ...problem, status } });
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
