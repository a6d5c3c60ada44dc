"""The phone app's side of Web Push in a real Chromium against the real server: the explanatory card
comes only after login, the browser's permission prompt only after the officer taps "Aktifkan", the
subscription (made with the server's applicationServerKey) is recorded by the server, logging out ends
it, a replaced subscription is registered again, and refusals or a missing network never stop reporting.

A real pushManager.subscribe() cannot succeed here (no internet, so no push service), so
Notification.requestPermission and PushManager.prototype.subscribe/getSubscription are replaced by an
init script. The fake subscriptions carry a real P-256 public key and 16 random auth bytes, and an
http://127.0.0.1 endpoint, which the server accepts because it runs with PANTAU_PUSH_ALLOW_LOCAL=1.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from server.domain.push import subscription_id
from tests.e2e.pwa_live_server import LiveServer

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright package is not installed (pip install playwright)", allow_module_level=True)

from tests.e2e.test_pwa import CHROMIUM, CHROMIUM_ARGS, IN_CI, WAIT_MS, log_in, submit_visit, wait_for

pytestmark = pytest.mark.e2e

SUBSCRIBED = "PushSubscription.Subscribed"
ENDED = "PushSubscription.Ended"

# Replaces the browser's permission prompt and push service. What a browser would remember (the
# permission, the current subscription) and every call made survive reloads, in sessionStorage.
FAKE_PUSH = """
(() => {
  const answer = %(answer)s, fakes = %(fakes)s;
  const saved = JSON.parse(sessionStorage.getItem('fake-push') || 'null');
  const calls = saved || { permission: 0, subscribe: [], unsubscribed: [], current: null, granted: 'default' };
  const save = () => sessionStorage.setItem('fake-push', JSON.stringify(calls));
  window.__push = calls;
  Object.defineProperty(Notification, 'permission', { configurable: true, get: () => calls.granted });
  Notification.requestPermission = async () => {
    calls.permission += 1;
    calls.granted = answer;
    save();
    return answer;
  };
  const made = (fake, key) => ({
    endpoint: fake.endpoint, expirationTime: null, options: { userVisibleOnly: true, applicationServerKey: key },
    toJSON: () => JSON.parse(JSON.stringify({ ...fake, expirationTime: null })),
    unsubscribe: async () => {
      calls.unsubscribed.push(fake.endpoint);
      if (calls.current === fake.endpoint) calls.current = null;
      save();
      return true;
    },
  });
  PushManager.prototype.getSubscription = async function () {
    const fake = fakes.find(f => f.endpoint === calls.current);
    return fake ? made(fake, null) : null;
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = options.applicationServerKey;
    const bytes = Array.from(new Uint8Array(key.buffer || key));
    calls.subscribe.push({ userVisibleOnly: options.userVisibleOnly, key: bytes });
    const fake = fakes[calls.subscribe.length - 1];
    calls.current = fake.endpoint;
    save();
    return made(fake, key);
  };
})();
"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_subscription() -> dict[str, Any]:
    """What PushSubscription.toJSON() gives: a real P-256 point, 16 random auth bytes, a local endpoint."""
    public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    keys = {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}
    return {"endpoint": f"http://127.0.0.1:9/fake-push/{uuid.uuid4()}", "keys": keys}


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(reason + " (CI=true: refusing to skip)")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("pwa-push") / "instance", env={"PANTAU_PUSH_ALLOW_LOCAL": "1"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Phone:
    """A fresh phone (browser context) whose permission prompt answers `answer`."""

    def __init__(self, browser: Browser, live: LiveServer, answer: str) -> None:
        self.fakes = [fake_subscription(), fake_subscription()]
        self.context = browser.new_context(viewport={"width": 360, "height": 640})
        self.context.set_default_timeout(WAIT_MS)
        self.context.add_init_script(FAKE_PUSH % {"answer": json.dumps(answer), "fakes": json.dumps(self.fakes)})
        self.page = self.context.new_page()
        self.live = live

    def calls(self) -> dict[str, Any]:
        return self.page.evaluate("JSON.parse(JSON.stringify(window.__push))")

    def recorded(self, topic: str, endpoint: str) -> bool:
        wanted = subscription_id(endpoint)
        events = self.live.topics("PushSubscription.")
        return any(originator == wanted and name.endswith(topic) for originator, name in events)


@pytest.fixture
def phone(browser: Browser, live: LiveServer, request: pytest.FixtureRequest) -> Iterator[Phone]:
    if live.process is None:  # a failed test may have left it stopped
        live.start()
    made = Phone(browser, live, getattr(request, "param", "granted"))
    yield made
    made.context.close()


def server_key(live: LiveServer) -> list[int]:
    with urllib.request.urlopen(live.url + "/api/v1/push/vapid-public-key", timeout=10) as response:
        key = json.load(response)["public_key"]
    return list(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Laporan saya").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Keluar").click()
    expect(page.locator("#login-view")).to_be_visible()


def test_card_after_login_then_permission_on_the_tap_and_logout_ends_it(phone: Phone, live: LiveServer) -> None:
    page = phone.page
    endpoint = phone.fakes[0]["endpoint"]
    page.goto(live.url + "/")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#push-card")).to_be_hidden()  # nothing about notifications before login

    log_in(page, live.url)
    card = page.locator("#push-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Aktifkan notifikasi?")
    expect(card).to_contain_text("tanpa harus membuka aplikasi")  # the why, before any prompt
    assert phone.calls()["permission"] == 0 and phone.calls()["subscribe"] == []  # not asked yet

    card.get_by_role("button", name="Aktifkan", exact=True).click()
    expect(card).to_be_hidden()
    expect(page.locator("#notice")).to_have_text("Notifikasi aktif.")
    calls = phone.calls()
    assert calls["permission"] == 1
    [subscribed] = calls["subscribe"]
    assert subscribed["userVisibleOnly"] is True
    assert subscribed["key"] == server_key(live)  # the server's applicationServerKey, as bytes
    wait_for(lambda: phone.recorded(SUBSCRIBED, endpoint))

    page.reload()  # a subscribed phone is not asked again
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator("#visit-committee option")).not_to_have_count(0)
    expect(card).to_be_hidden()

    log_out(page)
    wait_for(lambda: phone.recorded(ENDED, endpoint))
    assert phone.calls()["unsubscribed"] == [endpoint]


def test_a_replaced_subscription_is_registered_again(phone: Phone, live: LiveServer) -> None:
    page = phone.page
    first, second = (fake["endpoint"] for fake in phone.fakes)
    log_in(page, live.url)
    page.locator("#push-card").get_by_role("button", name="Aktifkan", exact=True).click()
    wait_for(lambda: phone.recorded(SUBSCRIBED, first))

    # The push service dropped the subscription; push-sw.js tells the open windows. A service worker's
    # pushsubscriptionchange cannot be fired from here, so the worker posts exactly what its handler posts.
    page.evaluate("window.__push.current = null")
    worker = next(w for w in page.context.service_workers if w.url.endswith("/sw.js"))
    worker.evaluate("""() => self.clients.matchAll({type: 'window'})
        .then(windows => windows.forEach(w => w.postMessage({type: 'push-subscription-changed'})))""")
    wait_for(lambda: phone.recorded(SUBSCRIBED, second))
    wait_for(lambda: phone.recorded(ENDED, first))  # the old endpoint is ended, not left to fail
    calls = phone.calls()
    assert calls["permission"] == 1 and len(calls["subscribe"]) == 2 and calls["current"] == second


@pytest.mark.parametrize("phone", ["denied"], indirect=True)
def test_a_refusal_is_shown_calmly_and_reporting_goes_on(phone: Phone, live: LiveServer) -> None:
    page = phone.page
    log_in(page, live.url)
    page.get_by_role("button", name="English").click()
    card = page.locator("#push-card")
    expect(card).to_contain_text("Turn on notifications?")
    card.get_by_role("button", name="Turn on", exact=True).click()
    expect(card.locator("#push-status")).to_have_text(
        "Notifications are not allowed. Reporting works as usual; you can change this later in the browser settings."
    )
    expect(card.get_by_role("button", name="Turn on", exact=True)).to_be_hidden()
    assert phone.calls()["subscribe"] == []
    card.get_by_role("button", name="Close").click()
    expect(card).to_be_hidden()

    page.get_by_role("button", name="Bahasa Indonesia").click()
    submit_visit(page)
    expect(page.locator("#unsent-count")).to_have_text("0")  # delivered as if nothing had happened
    page.reload()
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator("#visit-committee option")).not_to_have_count(0)
    expect(card).to_be_hidden()  # not asked again on this phone


def test_no_network_is_shown_calmly_and_can_be_retried(phone: Phone, live: LiveServer) -> None:
    page = phone.page
    endpoint = phone.fakes[0]["endpoint"]
    log_in(page, live.url)
    live.stop()
    card = page.locator("#push-card")
    card.get_by_role("button", name="Aktifkan", exact=True).click()
    expect(card.locator("#push-status")).to_contain_text("tidak ada koneksi")
    submit_visit(page)  # reporting still works: queued on the phone
    expect(page.locator("#unsent-count")).to_have_text("1")

    live.start()
    card.get_by_role("button", name="Coba lagi").click()
    expect(card).to_be_hidden()
    wait_for(lambda: phone.recorded(SUBSCRIBED, endpoint))
    page.get_by_role("button", name="Kirim sekarang").click()
    expect(page.locator("#unsent-count")).to_have_text("0")
