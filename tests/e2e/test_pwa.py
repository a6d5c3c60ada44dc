"""The phone app in a real Chromium against the real server: offline queueing, exactly-once delivery,
lost answers, server-side refusals, the shell-size budget and installability."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pwa_live_server import CuttingProxy, LiveServer

try:
    from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright package is not installed (pip install playwright)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
PWA = REPO / "pwa"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"
]
IN_CI = os.environ.get("CI", "").lower() == "true"
SHELL_BUDGET = 25 * 1024
PPS = "19.71.01.1004"
TOPICS = {
    "visit": "MonitoringVisit.Recorded",
    "complaint": "Complaint.Filed",
    "correction": "RegistrationCorrection.Requested",
}
WAIT_MS = 20_000


def cached_files() -> list[Path]:
    """Everything the service worker caches (its SHELL list), icons included."""
    listed = re.search(r"const SHELL = \[(.*?)\];", (PWA / "sw.js").read_text(), re.S).group(1)
    return sorted({PWA / ("index.html" if n == "/" else n.lstrip("/")) for n in re.findall(r"'([^']+)'", listed)})


def shell_files() -> list[Path]:
    """The app shell the budget counts: the cached files, sw.js and what it imports, icons excluded."""
    worker = (PWA / "sw.js").read_text()
    imported = {PWA / name for name in re.findall(r"^import (?:[^'\n]* from )?'\./([^']+)'", worker, re.M)}
    return sorted({p for p in cached_files() if p.parent == PWA} | imported | {PWA / "sw.js"})


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_shell_fits_the_budget() -> None:
    sizes = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in shell_files()}
    assert {"index.html", "app.js", "sw.js", "app.css", "manifest.webmanifest"} <= set(sizes)
    assert sum(sizes.values()) <= SHELL_BUDGET, sizes


def test_cache_version_follows_the_shell() -> None:
    """A shell change must change sw.js, or phones would keep serving the old shell from their cache."""
    digest = hashlib.sha256()
    for path in cached_files():
        digest.update(path.relative_to(PWA).as_posix().encode() + b"\0" + path.read_bytes())
    expected = digest.hexdigest()[:12]
    assert f"const VERSION = '{expected}';" in (PWA / "sw.js").read_text(), f"set VERSION to '{expected}' in pwa/sw.js"


def test_manifest_has_the_installability_fields() -> None:
    manifest = json.loads((PWA / "manifest.webmanifest").read_text())
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"] and manifest["background_color"]
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    for size in (192, 512):
        icon = sizes[f"{size}x{size}"]
        assert icon["type"] == "image/png"
        assert png_size(PWA / icon["src"].lstrip("/")) == (size, size)


# --- browser tests ----------------------------------------------------------------------------------


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
    server = LiveServer(tmp_path_factory.mktemp("pwa") / "instance")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def playwright(chromium: Path) -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, live: LiveServer) -> Iterator[Page]:
    if live.process is None:  # a failed test may have left it stopped
        live.start()
    context = browser.new_context(
        viewport={"width": 360, "height": 640}, permissions=["geolocation"],
        geolocation={"latitude": -2.9761, "longitude": 104.7754, "accuracy": 25},
    )
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Nama pengguna").fill("pps_semabung")
    page.get_by_label("Kata sandi").fill("demo-pps-2024")
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator("#app-view")).to_be_visible()
    wait_for_service_worker(page)
    expect(page.locator(f"#visit-committee option[value='{PPS}']")).to_have_count(1)
    expect(page.locator("#checklist input")).not_to_have_count(0)


def submit_visit(page: Page) -> None:
    page.get_by_role("button", name="Kunjungan").click()
    page.locator("#checklist input").first.check()
    page.get_by_label("Temuan").fill("Pengumuman DPT terpasang di balai desa.")
    page.get_by_label("Tindak lanjut (satu per baris)").fill("Cek papan RT 03")
    page.locator("#visit button[type=submit]").click()


def submit_complaint(page: Page) -> None:
    page.get_by_role("button", name="Pengaduan").click()
    page.get_by_label("Kategori").select_option("logistics")
    page.get_by_label("Uraian pengaduan").fill("Kotak suara belum tiba.")
    page.locator("#complaint button[type=submit]").click()


def submit_correction(page: Page, nik: str = "1671010101900001") -> None:
    page.get_by_role("button", name="Perbaikan data").click()
    page.get_by_label("Jenis perbaikan").select_option("add_to_dptb")
    page.get_by_label("NIK (16 angka)").fill(nik)
    page.get_by_label("Nama lengkap").fill("Siti Aminah")
    page.get_by_label("TPS tujuan").fill("TPS 007")
    page.locator("#correction button[type=submit]").click()


def wait_for(condition, timeout: float = WAIT_MS / 1000):
    """Poll a condition outside the browser (the event log) until it holds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)  # polling interval, not a guess at how long something takes
    return result


REGISTRATION_STATE = """navigator.serviceWorker.getRegistration().then(r => r
    ? ['installing', 'waiting', 'active'].map(k => k + '=' + (r[k] ? r[k].state : '-')).join(' ') : 'none')"""


def wait_for_service_worker(page: Page) -> None:
    # Not page.wait_for_function: its polling evals a string, which the app's strict CSP rightly blocks.
    controlled = "navigator.serviceWorker.controller !== null"
    try:
        wait_for(lambda: page.evaluate(controlled))
        return
    except AssertionError:
        pass
    # Seen three times in one session, twice under heavy load: no worker took control within 20 s (cause
    # not yet known; one candidate is a shell download failing during install, which the app retries only
    # at its next launch). Launch once more, and if that does not help either, report the registration.
    before = page.evaluate(REGISTRATION_STATE)
    page.reload()
    try:
        wait_for(lambda: page.evaluate(controlled))
    except AssertionError:
        raise AssertionError(
            f"no service worker controls the page: registration {before!r}, after a reload "
            f"{page.evaluate(REGISTRATION_STATE)!r}"
        ) from None


def test_a_shell_file_lost_while_the_worker_installs_is_fetched_again_without_a_relaunch(
    page: Page, live: LiveServer
) -> None:
    proxy = CuttingProxy(live.port)
    proxy.refusals["/app.css"] = 1  # the worker's copy for its cache, not the page's own stylesheet
    try:
        page.goto(proxy.url)
        # The first install fails (cache.addAll refuses a 503); the app installs again after a pause, and the
        # new worker takes control of this very page: it opens offline from now on, no relaunch needed.
        try:
            wait_for(lambda: page.evaluate("navigator.serviceWorker.controller !== null"))
        except AssertionError:
            raise AssertionError(f"no worker took control: {page.evaluate(REGISTRATION_STATE)}") from None
        assert proxy.refused == ["/app.css"]
    finally:
        proxy.shutdown()
        proxy.server_close()


def reports(page: Page) -> list[dict[str, str]]:
    return page.eval_on_selector_all("#report-list li[data-id]", "els => els.map(e => ({...e.dataset}))")


def test_offline_reports_are_kept_and_arrive_exactly_once(page: Page, live: LiveServer) -> None:
    log_in(page, live.url)
    live.stop()
    page.reload()  # the service worker serves the shell with the server gone
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator(f"#visit-committee option[value='{PPS}']")).to_have_count(1)  # cached reference data

    submit_correction(page, nik="12345")  # the phone itself refuses a short NIK: nothing is queued
    expect(page.locator("#correction .error")).to_contain_text("NIK harus tepat 16 angka")
    expect(page.locator("#correction-nik")).to_have_attribute("aria-invalid", "true")
    submit_visit(page)
    submit_complaint(page)
    submit_correction(page)
    expect(page.locator("#unsent-count")).to_have_text("3")
    page.reload()  # still offline: the queue lives in IndexedDB, not in the page
    expect(page.locator("#unsent-count")).to_have_text("3")
    queued = reports(page)
    assert sorted(r["kind"] for r in queued) == ["complaint", "correction", "visit"]
    assert {r["state"] for r in queued} == {"queued"}

    live.start()
    page.get_by_role("button", name="Kirim sekarang").click()
    expect(page.locator("#unsent-count")).to_have_text("0")
    page.get_by_role("button", name="Laporan saya").click()
    for report in queued:
        positions = live.events(report["id"], TOPICS[report["kind"]])
        assert len(positions) == 1, (report, positions)
        item = page.locator(f"#report-list li[data-id='{report['id']}']")
        expect(item).to_have_attribute("data-state", "delivered")
        expect(item).to_contain_text(f"posisi #{positions[0]}")
    expect(page.locator("#report-list li[data-kind=complaint]")).to_contain_text("Status: diterima")
    page.screenshot(path=str(live.instance / "pwa-360x640.png"))
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="My reports")).to_be_visible()
    expect(page.locator("#report-list li[data-kind=complaint]")).to_contain_text("Receipt: position #")


def test_lost_answer_is_retried_without_a_second_event(page: Page, live: LiveServer) -> None:
    proxy = CuttingProxy(live.port)
    try:
        log_in(page, proxy.url)
        proxy.cuts = 1
        submit_visit(page)
        item = page.locator("#report-list li[data-kind=visit]")
        expect(item).to_have_attribute("data-state", "delivered")  # by the app's own back-off retry
        record_id = item.get_attribute("data-id")
        posts = [json.loads(body)["id"] for path, body in proxy.posts if path.endswith("/visits")]
        assert proxy.cut_paths == ["/api/v1/visits"]
        assert posts == [record_id] * len(posts) and len(posts) >= 2  # the same id went twice...
        assert len(live.events(record_id, TOPICS["visit"])) == 1  # ...and the server recorded it once
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_server_refusal_is_kept_for_fixing_and_resent_with_the_same_id(page: Page, live: LiveServer) -> None:
    log_in(page, live.url)

    def break_the_nik(route):  # the server validates again what the phone validated: make them disagree
        body = json.loads(route.request.post_data)
        route.continue_(post_data=json.dumps({**body, "nik": "16710101"}))

    page.route("**/api/v1/corrections", break_the_nik)
    submit_correction(page)
    page.get_by_role("button", name="Laporan saya").click()
    item = page.locator("#report-list li[data-kind=correction]")
    expect(item).to_have_attribute("data-state", "fix")
    expect(item).to_contain_text("Perlu diperbaiki")
    expect(item).to_contain_text("NIK must be exactly 16 digits.")
    expect(page.locator("#unsent-count")).to_have_text("1")
    record_id = item.get_attribute("data-id")

    page.unroute("**/api/v1/corrections")
    item.get_by_role("button", name="Perbaiki").click()
    expect(page.get_by_label("NIK (16 angka)")).to_have_value("1671010101900001")
    expect(page.locator("#correction .error")).to_contain_text("NIK must be exactly 16 digits.")
    page.locator("#correction button[type=submit]").click()
    expect(page.locator("#unsent-count")).to_have_text("0")
    assert len(live.events(record_id, TOPICS["correction"])) == 1

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Laporan saya").click()
    page.get_by_role("button", name="Keluar").click()
    expect(page.locator("#login-view")).to_be_visible()
    left = page.evaluate("""() => new Promise(resolve => indexedDB.open('pantau').onsuccess = e => e.target.result
        .transaction('outbox').objectStore('outbox').count().onsuccess = c => resolve(c.target.result))""")
    assert left == 0


def test_background_sync_sends_from_the_service_worker(page: Page, live: LiveServer) -> None:
    log_in(page, live.url)
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    live.stop()
    submit_visit(page)
    expect(page.locator("#unsent-count")).to_have_text("1")
    record_id = reports(page)[0]["id"]
    page.goto("about:blank")  # the app is closed: only the service worker can send now
    live.start()
    registration = next(r for r in registrations if r["scopeURL"].startswith(live.url) and not r["isDeleted"])
    sync = {"origin": live.url, "registrationId": registration["registrationId"], "tag": "outbox", "lastChance": False}
    cdp.send("ServiceWorker.dispatchSyncEvent", sync)
    wait_for(lambda: live.events(record_id, TOPICS["visit"]))
    page.goto(live.url + "/")
    expect(page.locator("#unsent-count")).to_have_text("0")
    expect(page.locator(f"#report-list li[data-id='{record_id}']")).to_have_attribute("data-state", "delivered")
    assert len(live.events(record_id, TOPICS["visit"])) == 1


def test_chromium_finds_the_app_installable(
    playwright: Playwright, chromium: Path, live: LiveServer, tmp_path: Path
) -> None:
    if live.process is None:
        live.start()
    # A throwaway context reports "in-incognito"; a persistent profile is what a phone has.
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
    )
    try:
        page = context.new_page()
        page.goto(live.url + "/")
        wait_for_service_worker(page)
        errors = context.new_cdp_session(page).send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
    finally:
        context.close()


def test_new_version_waits_for_the_officer(page: Page, tmp_path: Path) -> None:
    shipped = tmp_path / "pwa"
    shutil.copytree(PWA, shipped)
    server = LiveServer(tmp_path / "instance", pwa_dir=shipped)
    server.start()
    try:
        log_in(page, server.url)
        current = re.search(r"const VERSION = '(\w+)';", (shipped / "sw.js").read_text()).group(1)
        page.get_by_label("Temuan").fill("Setengah jalan")  # the officer is mid-form
        (shipped / "sw.js").write_text((shipped / "sw.js").read_text().replace(current, "next-version"))
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        expect(page.locator("#update")).to_be_visible()
        # Installed and waiting; the old version still controls the page, its cache intact.
        assert page.evaluate("navigator.serviceWorker.getRegistration().then(r => Boolean(r.waiting))")
        assert f"pantau-shell-{current}" in page.evaluate("caches.keys()")
        expect(page.get_by_label("Temuan")).to_have_value("Setengah jalan")

        page.once("dialog", lambda dialog: dialog.accept())  # "the unsent form will be lost?"
        with page.expect_event("load"):
            page.get_by_role("button", name="Pakai versi baru").click()
        expect(page.locator("#app-view")).to_be_visible()
        wait_for(lambda: page.evaluate("caches.keys()") == ["pantau-shell-next-version"])
    finally:
        server.stop()


def test_conflict_is_shown_in_words_and_can_go_as_a_new_report(page: Page, live: LiveServer) -> None:
    log_in(page, live.url)
    attempts: list[str] = []

    def lose_then_change(route):  # the server records the first try; the retry arrives with other content
        attempts.append(json.loads(route.request.post_data)["id"])
        if len(attempts) == 1:
            route.fetch()
            route.fulfill(status=503, content_type="application/problem+json", body='{"title": "Service Unavailable"}')
        else:
            route.continue_(post_data=json.dumps({**json.loads(route.request.post_data), "description": "Lain"}))

    page.route("**/api/v1/complaints", lose_then_change)
    submit_complaint(page)
    page.get_by_role("button", name="Laporan saya").click()
    item = page.locator("#report-list li[data-kind=complaint]")
    expect(item).to_have_attribute("data-state", "conflict")
    expect(item).to_contain_text("Nomor laporan ini sudah dipakai di server untuk isi yang berbeda")
    expect(item).to_contain_text("already received with different content")
    expect(page.locator("#unsent-count")).to_have_text("1")

    page.unroute("**/api/v1/complaints")
    item.get_by_role("button", name="Kirim sebagai laporan baru").click()
    expect(page.locator("#unsent-count")).to_have_text("0")
    fresh = page.locator("#report-list li[data-kind=complaint]").get_attribute("data-id")
    assert fresh != attempts[0]
    assert len(live.events(attempts[0], TOPICS["complaint"])) == len(live.events(fresh, TOPICS["complaint"])) == 1
