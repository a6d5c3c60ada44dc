"""pwa/push-sw.js in a real Chromium: a push delivered through the DevTools protocol shows the
notification the server's payload describes, and opening it lands on the record.

Headless Chromium cannot obtain a real push subscription offline, so the push is injected with
ServiceWorker.deliverPushMessage. The worker under test is a stand-in that imports push-sw.js exactly
as pwa/sw.js does (`import './push-sw.js';`).

Why the test never polls registration.getNotifications() while a push is being handled: every
getNotifications() call makes Chromium "synchronise" its notification database with what the platform
reports as on display, and it deletes records written before the call that are not on display yet. A
poll that lands between showNotification's database write and the display itself therefore erases the
notification for good (the push event still completes with "Success"). With the previous 50 ms poll
this lost about 1 run in 25, more under load; polling without a pause lost half. So the test waits for
the push event to finish (DevTools' BackgroundService log: "Push event completed", which Chromium logs
after event.waitUntil(showNotification(...)) has settled, i.e. after the display) and then reads once.
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.e2e

PWA = Path(__file__).resolve().parents[2] / "pwa"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TEST_WORKER = """
import './push-sw.js';
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', event => event.waitUntil(self.clients.claim()));
// Chromium offers no protocol command to click a notification, so the test asks for what a click does.
self.addEventListener('message', event => {
  if (event.data && event.data.open !== undefined) event.waitUntil(self.pantauPush.openRecord(event.data.open));
});
"""
PAGE = "<!doctype html><meta charset=utf-8><title>push test</title><p>Pantau</p>"
RECORD = "/#/complaints/0b6f4c1e-2f43-4a8e-9d0e-3c2b7f1a5d10"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """push-sw.js as the PWA ships it, beside a page and the stand-in worker, on 127.0.0.1."""
    shutil.copy(PWA / "push-sw.js", tmp_path / "push-sw.js")
    (tmp_path / "test-sw.js").write_text(TEST_WORKER)
    (tmp_path / "index.html").write_text(PAGE)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def pump(page: Any, until: Any, what: str, timeout: float = 15) -> Any:
    """Wait for protocol events: each round trip to the page lets Playwright dispatch what has arrived."""
    deadline = time.monotonic() + timeout
    while not (found := until()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.evaluate("0")
    return found


class Worker:
    """The page, its DevTools session and our registration, with the protocol events seen so far."""

    def __init__(self, page: Any, cdp: Any, site: str) -> None:
        self.page, self.cdp, self.site = page, cdp, site
        self.registrations: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.background: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: self.registrations.extend(e["registrations"]))
        cdp.on("ServiceWorker.workerVersionUpdated", lambda e: self.versions.extend(e["versions"]))
        cdp.on("BackgroundService.backgroundServiceEventReceived",
               lambda e: self.background.append(e["backgroundServiceEvent"]))
        # Recording push events gives the "Push event completed" entry the test waits on.
        cdp.send("BackgroundService.startObserving", {"service": "pushMessaging"})
        cdp.send("BackgroundService.setRecording", {"shouldRecord": True, "service": "pushMessaging"})
        cdp.send("ServiceWorker.enable")  # then reports every current registration and version as events
        scope = site + "/"
        ours = pump(page, lambda: [r for r in self.registrations if r["scopeURL"] == scope and not r["isDeleted"]],
                    f"a service worker registration for {scope}")
        assert len({r["registrationId"] for r in ours}) == 1, ours
        self.registration_id = ours[0]["registrationId"]
        pump(page, lambda: any(v["registrationId"] == self.registration_id and v["status"] == "activated"
                               for v in self.versions), "the worker to be activated")

    def push(self, message: dict[str, Any]) -> None:
        """Deliver a push and return once the worker's push event has settled (so the notification shows)."""
        seen = len(self.background)
        self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": self.site + "/", "registrationId": self.registration_id, "data": json.dumps(message)},
        )
        def completed() -> dict[str, Any] | None:
            for event in self.background[seen:]:
                ours = event["serviceWorkerRegistrationId"] == self.registration_id
                if ours and event["eventName"] == "Push event completed":
                    return event
            return None
        event = pump(self.page, completed, "the push event to complete")
        status = {m["key"]: m["value"] for m in event["eventMetadata"]}.get("Status")
        assert status == "Success", f"the worker's push event ended with {status!r}"


@pytest.fixture
def worker(site: str) -> Iterator[Worker]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.grant_permissions(["notifications"], origin=site)
        page = context.new_page()
        page.goto(site + "/index.html")
        assert page.evaluate("Notification.permission") == "granted"
        # Registered, and controlling this page (the stand-in worker claims its clients on activation).
        page.evaluate(
            """() => navigator.serviceWorker.register('/test-sw.js', {type: 'module'}).then(() =>
                 navigator.serviceWorker.controller || new Promise(resolve =>
                   navigator.serviceWorker.addEventListener('controllerchange', resolve, {once: true})))
               .then(() => true)"""
        )
        yield Worker(page, context.new_cdp_session(page), site)
        browser.close()


def shown_notifications(page: Any) -> list[dict[str, Any]]:
    """What the worker shows. Read once, after the push event settled: never polled (see the module notes)."""
    return page.evaluate(
        """async () => {
          const registration = await navigator.serviceWorker.ready;
          const list = await registration.getNotifications();
          return list.map(n => ({title: n.title, body: n.body, tag: n.tag, lang: n.lang, data: n.data}));
        }"""
    )


def test_a_push_shows_the_notification_and_opening_it_lands_on_the_record(worker: Worker, site: str) -> None:
    page = worker.page
    # The payload the dispatcher sends for a filed complaint (server/domain/push_texts.py).
    worker.push(
        {
            "title": "Pengaduan baru",
            "body": "Pengaduan netralitas di PPS Semabung Lama perlu ditanggapi.",
            "url": RECORD,
            "tag": "0b6f4c1e2f434a8e9d0e3c2b7f1a5d10",
            "kind": "complaint_filed",
            "lang": "id",
        },
    )
    [shown] = shown_notifications(page)
    assert shown["title"] == "Pengaduan baru"
    assert shown["body"].startswith("Pengaduan netralitas")
    assert shown["tag"] == "0b6f4c1e2f434a8e9d0e3c2b7f1a5d10" and shown["lang"] == "id"
    assert shown["data"]["url"] == site + RECORD

    # What a tap does: the open Pantau window is sent to the record.
    page.evaluate("url => navigator.serviceWorker.controller.postMessage({open: url})", shown["data"]["url"])
    page.wait_for_url(site + RECORD, timeout=15_000)  # the worker navigates the window (a real navigation)


def test_a_pushed_link_to_another_site_opens_the_app_instead(worker: Worker, site: str) -> None:
    worker.push({"title": "x", "body": "y", "url": "https://evil.example/phish"})
    [shown] = shown_notifications(worker.page)
    assert shown["data"]["url"] == site + "/"
