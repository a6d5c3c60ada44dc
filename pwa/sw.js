// Hand-written service worker (a module worker, so it shares outbox.js with the page).
// VERSION is a digest of the other shell files (tests/e2e/test_pwa.py checks it and prints the right
// value), so any change to the shell changes this file: the new worker installs, then waits for the officer.
import { sendAll } from './outbox.js';
import './push-sw.js';  // Web Push handlers (another issue's file; imported scripts update with this worker)

const VERSION = 'b15d835babdf';
const CACHE = 'pantau-shell-' + VERSION;
const SHELL = ['/', '/index.html', '/app.css', '/app.js', '/db.js', '/outbox.js', '/forms.js', '/i18n.js', '/push.js',
  '/manifest.webmanifest', '/icons/icon-192.png', '/icons/icon-512.png'];

self.addEventListener('install', event => {
  // Awaited: a worker whose shell is not fully cached must not install at all.
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll(SHELL)));
});

self.addEventListener('activate', event => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('pantau-shell-') && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// Only the page, after the officer agreed, may let a waiting version take over.
self.addEventListener('message', event => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

// App shell: cache first. The API is left alone (network only): reports are never answered from a cache.
self.addEventListener('fetch', event => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  // Other pages at this origin (the KPU board) are not part of the shell and go to the network.
  const key = url.pathname === '/' ? '/index.html' : event.request;
  event.respondWith(caches.match(key, { ignoreSearch: true }).then(hit => hit || fetch(event.request)));
});

// Background Sync: the browser wakes us when the network is back, even with the app closed.
self.addEventListener('sync', event => {
  if (event.tag === 'outbox') {
    event.waitUntil(sendAll({ force: true }).then(result => {
      if (result.offline) throw new Error('still offline');  // ask the browser to try again later
    }));
  }
});
