// Web Push on the page. The browser's permission prompt comes only after the officer has read why
// (the card) and tapped "Aktifkan". Nothing here may block reporting: every step can fail calmly.
import * as db from './db.js';
import { session } from './outbox.js';
import { t } from './i18n.js';

const $ = sel => document.querySelector(sel);
const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

// A step that may hang (no network, no push service) gives up instead of freezing the card.
const within = (ms, promise) => Promise.race([promise,
  new Promise((_, reject) => setTimeout(() => reject(new DOMException('timed out', 'TimeoutError')), ms))]);

async function api(path, options = {}) {
  const s = await session();
  if (!s || s.expired) throw new Error('no session');
  return fetch('/api/v1/' + path, {
    ...options,
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + s.token },
    signal: AbortSignal.timeout(10000),
  });
}

const pushManager = async () => (await within(10000, navigator.serviceWorker.ready)).pushManager;

// The server's base64url key as the bytes pushManager.subscribe wants.
function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - base64url.length % 4) % 4));
  return Uint8Array.from(text, c => c.charCodeAt(0));
}

// A status line whose words follow a language switch (apply() re-renders [data-i18n]).
function say(key) {
  const el = $('#push-status');
  if (key) el.dataset.i18n = key; else delete el.dataset.i18n;
  el.textContent = key ? t(key) : '';
}

function label(id, key) {
  const el = document.getElementById(id);
  el.dataset.i18n = key;
  el.textContent = t(key);
}

function card(show, { enable = true, busy = false } = {}) {
  $('#push-card').hidden = !show;
  $('#push-enable').hidden = !enable;
  $('#push-enable').disabled = busy;
}

// Subscribe this browser with the server's key and register it for the signed-in account.
async function subscribe() {
  const response = await api('push/vapid-public-key');
  if (!response.ok) throw new Error('no key');
  const key = keyBytes((await response.json()).public_key);
  const manager = await pushManager();
  const old = await manager.getSubscription();
  if (old) {
    const current = old.options?.applicationServerKey;
    // Subscribed with another server key: subscribe() would refuse, so start over.
    if (current && !new Uint8Array(current).every((b, i) => b === key[i])) await within(5000, old.unsubscribe());
  }
  const subscription = await within(20000, manager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
  const saved = await api('push/subscriptions', { method: 'POST', body: JSON.stringify(subscription.toJSON()) });
  if (!saved.ok) throw new Error('server refused: ' + saved.status);
  const previous = await db.get('kv', 'push');
  await db.put('kv', { endpoint: subscription.endpoint }, 'push');
  if (previous?.endpoint && previous.endpoint !== subscription.endpoint) {
    await api('push/subscriptions', { method: 'DELETE', body: JSON.stringify({ endpoint: previous.endpoint }) }).catch(() => {});
  }
}

async function enable() {
  card(true, { busy: true });
  say('push_working');
  let permission;
  try {
    permission = await Notification.requestPermission();
  } catch {
    permission = Notification.permission;
  }
  if (permission !== 'granted') {
    await db.put('kv', true, 'push_dismissed');
    card(true, { enable: false });
    label('push-later', 'push_close');
    return say('push_denied');
  }
  try {
    await subscribe();
    card(false);
    say('');
    $('#notice').textContent = t('push_on');
  } catch (error) {
    const offline = !navigator.onLine || ['TypeError', 'TimeoutError', 'AbortError'].includes(error?.name);
    card(true);
    say(offline ? 'push_offline' : 'push_failed');
    label('push-enable', 'push_retry');
  }
}

// After login: explain and offer, unless this phone is already subscribed for the officer or they said no.
export async function offer() {
  if (!supported()) return;
  try {
    if (await db.get('kv', 'push')) return refresh();
    if (Notification.permission === 'denied' || await db.get('kv', 'push_dismissed')) return;
    say('');
    label('push-enable', 'push_enable');
    label('push-later', 'push_later');
    card(true);
  } catch { /* storage trouble: simply no card */ }
}

// The push service replaced or dropped our subscription: register the new one (only if we had one).
export async function refresh() {
  try {
    if (!supported() || Notification.permission !== 'granted' || !(await db.get('kv', 'push'))) return;
    const current = await (await pushManager()).getSubscription();
    if (!current || current.endpoint !== (await db.get('kv', 'push')).endpoint) await subscribe();
  } catch { /* offline: tried again at the next app start */ }
}

// Logging out: the server stops pushing to this phone, then the browser forgets the subscription.
export async function end() {
  if (!supported()) return;
  const stored = await db.get('kv', 'push').catch(() => null);
  const subscription = await pushManager().then(m => m.getSubscription()).catch(() => null);
  const endpoint = subscription?.endpoint || stored?.endpoint;
  if (endpoint) {
    await api('push/subscriptions', { method: 'DELETE', body: JSON.stringify({ endpoint }) }).catch(() => {});
  }
  if (subscription) await within(5000, subscription.unsubscribe()).catch(() => {});
  card(false);
}

export function wire() {
  $('#push-enable').addEventListener('click', enable);
  $('#push-later').addEventListener('click', async () => {
    card(false);
    await db.put('kv', true, 'push_dismissed').catch(() => {});
  });
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', event => {
    if (event.data?.type === 'push-subscription-changed') refresh();
  });
  navigator.serviceWorker.startMessages();
}
