"""pwa/push-sw.js in a real Chromium: a push delivered through the DevTools protocol shows the
notification the server's payload describes, and opening it lands on the record.

Headless Chromium cannot obtain a real push subscription offline, so the push is injected with
ServiceWorker.deliverPushMessage. The worker under test is a stand-in that imports push-sw.js exactly
as pwa/sw.js will (`import './push-sw.js';`), so this runs before sw.js is changed.
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


@pytest.fixture
def page_and_cdp(site: str) -> Iterator[tuple[Any, Any, str]]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.grant_permissions(["notifications"], origin=site)
        page = context.new_page()
        page.goto(site + "/index.html")
        page.evaluate(
            "navigator.serviceWorker.register('/test-sw.js', {type: 'module'})"
            ".then(() => navigator.serviceWorker.ready).then(() => true)"
        )
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        cdp = context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
        cdp.send("ServiceWorker.enable")  # then reports every current registration as an event
        ours: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while not ours and time.monotonic() < deadline:
            page.evaluate("0")  # a round trip lets Playwright dispatch the events that have arrived
            ours = [r for r in registrations if r["scopeURL"] == site + "/" and not r["isDeleted"]]
        assert ours, f"no service worker registration reported for {site}/"
        yield page, cdp, ours[0]["registrationId"]
        browser.close()


def deliver(cdp: Any, site: str, registration_id: str, message: dict[str, Any]) -> None:
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": site + "/", "registrationId": registration_id, "data": json.dumps(message)},
    )


def shown_notifications(page: Any) -> list[dict[str, Any]]:
    """What the worker shows, once it shows anything (polled in the page, up to 15 s)."""
    return page.evaluate(
        """async () => {
          const registration = await navigator.serviceWorker.ready;
          const deadline = Date.now() + 15000;
          let list = await registration.getNotifications();
          while (!list.length && Date.now() < deadline) {
            await new Promise(resolve => setTimeout(resolve, 50));  // poll interval, not a guess at timing
            list = await registration.getNotifications();
          }
          return list.map(n => ({title: n.title, body: n.body, tag: n.tag, lang: n.lang, data: n.data}));
        }"""
    )


def test_a_push_shows_the_notification_and_opening_it_lands_on_the_record(page_and_cdp: Any, site: str) -> None:
    page, cdp, registration_id = page_and_cdp
    # The payload the dispatcher sends for a filed complaint (server/domain/push_texts.py).
    deliver(
        cdp,
        site,
        registration_id,
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
    page.wait_for_function("expected => location.hash === expected", arg=RECORD.removeprefix("/"))


def test_a_pushed_link_to_another_site_opens_the_app_instead(page_and_cdp: Any, site: str) -> None:
    page, cdp, registration_id = page_and_cdp
    deliver(cdp, site, registration_id, {"title": "x", "body": "y", "url": "https://evil.example/phish"})
    [shown] = shown_notifications(page)
    assert shown["data"]["url"] == site + "/"
