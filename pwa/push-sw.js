// Web Push in the service worker: show what the server pushed, open the related record on a tap.
// A plain script (no import/export), so the module worker sw.js can `import './push-sw.js';`
// and a classic worker could importScripts it. Payload (server/domain/push_texts.py):
// {title, body, url, tag, kind, lang}; the tag collapses repeated pushes about one record.

const PUSH_ICON = '/icons/icon-192.png';

// Only paths of this app: a pushed URL must never send an officer to another site.
function pushTarget(value) {
  try {
    const url = new URL(value || '/', self.location.origin);
    return url.origin === self.location.origin ? url.href : self.location.origin + '/';
  } catch (error) {
    return self.location.origin + '/';
  }
}

function pushMessage(data) {
  try {
    return (data && data.json()) || {};
  } catch (error) {
    return { body: data ? data.text() : '' };  // not JSON: still show something rather than nothing
  }
}

async function showPush(data) {
  const message = pushMessage(data);
  const options = {
    body: typeof message.body === 'string' ? message.body : '',
    icon: PUSH_ICON,
    badge: PUSH_ICON,
    lang: message.lang === 'en' ? 'en' : 'id',
    data: { url: pushTarget(message.url), kind: message.kind || null },
  };
  if (message.tag) Object.assign(options, { tag: String(message.tag), renotify: true });
  // userVisibleOnly: every push must show a notification, or the browser revokes the subscription.
  await self.registration.showNotification(typeof message.title === 'string' ? message.title : 'Pantau', options);
}

// Focus an open Pantau window and send it to the record; open one if there is none.
async function openRecord(url) {
  const target = pushTarget(url);
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin !== self.location.origin) continue;
    try { await client.focus(); } catch (error) { /* focusing needs the user's tap; navigating does not */ }
    try {
      if (await client.navigate(target)) return;
    } catch (error) { /* an uncontrolled window cannot be navigated from here: open a new one */ }
  }
  if (self.clients.openWindow) await self.clients.openWindow(target);
}

self.addEventListener('push', event => {
  event.waitUntil(showPush(event.data));
});

self.addEventListener('notificationclick', event => {
  event.notification.close();
  event.waitUntil(openRecord(event.notification.data && event.notification.data.url));
});

// The push service replaced our subscription: tell open pages, which hold the token to re-register it.
self.addEventListener('pushsubscriptionchange', event => {
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then(windows => {
    for (const client of windows) client.postMessage({ type: 'push-subscription-changed' });
  }));
});

self.pantauPush = { showPush, openRecord, pushTarget };
