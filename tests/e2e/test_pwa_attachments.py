"""Photos and PDFs from the phone app's offline outbox, in a real Chromium against the real server: kept
with the report while offline, checked on the phone, sent in resumable steps (upload by hash, report,
link) and recorded exactly once even when an answer is lost or the app dies between steps."""

# ruff: noqa: F811 - the browser fixtures come from test_pwa and are taken by name as parameters

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pwa_live_server import CuttingProxy, LiveServer
from tests.e2e.test_pwa import (  # noqa: F401 - fixtures are used by name
    TOPICS,
    browser,
    chromium,
    live,
    log_in,
    page,
    playwright,
    wait_for,
)

try:
    from playwright.sync_api import Page, expect
except ImportError:  # test_pwa decides whether a missing playwright skips or fails
    pytest.skip("the playwright package is not installed", allow_module_level=True)

ATTACHED = "server.domain.attachment:Attached"


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def tiny_jpeg(note: str) -> bytes:
    """A real baseline JPEG (1 x 1 grey pixel) whose comment segment makes its bytes, and hash, unique."""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # a Huffman table holding the single symbol 0, code "0"
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xFE, note.encode()),
            segment(0xDB, b"\x00" + bytes([1] * 64)),
            segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00"),  # 8 bit, 1 x 1, one component
            segment(0xC4, b"\x00" + one_code),  # DC table 0
            segment(0xC4, b"\x10" + one_code),  # AC table 0
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f",  # DC difference 0, end of block, padded with ones
            b"\xff\xd9",
        ]
    )


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def blobs(live: LiveServer, sha256: str) -> list[Path]:
    """The stored copy of these bytes, if any (content-addressed under instance/attachments/ab/cdef...)."""
    path = live.instance / "attachments" / sha256[:2] / sha256[2:]
    return [path] if path.is_file() else []


def entry(page: Page, record_id: str) -> dict[str, Any]:
    """The outbox entry as IndexedDB holds it; each file's bytes replaced by their SHA-256 (or None)."""
    return page.evaluate(
        """async id => {
            const done = req => new Promise(r => { req.onsuccess = e => r(e.target.result); });
            const db = await done(indexedDB.open('pantau'));
            const rec = await done(db.transaction('outbox').objectStore('outbox').get(id));
            db.close();
            const hex = async blob => Array.from(
                new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())),
                b => b.toString(16).padStart(2, '0')).join('');
            const files = await Promise.all(
                (rec.files || []).map(async f => ({ ...f, data: f.data ? await hex(f.data) : null })));
            return { ...rec, files };
        }""",
        record_id,
    )


def attached(live: LiveServer, record_id: str) -> list[int]:
    return live.events(record_id, "Attached")


def fill_complaint(page: Page, *files: Path) -> None:
    page.get_by_role("button", name="Pengaduan").click()
    page.get_by_label("Kategori").select_option("logistics")
    page.get_by_label("Uraian pengaduan").fill("Segel kotak suara rusak, foto terlampir.")
    label = "Foto atau PDF (opsional, maks. 5 MB per file)"
    page.locator("#complaint").get_by_label(label).set_input_files(list(files))


def send_complaint(page: Page) -> None:
    page.locator("#complaint button[type=submit]").click()


def complaint_item(page: Page):
    return page.locator("#report-list li[data-kind=complaint]")


def test_offline_photo_waits_with_its_report_and_arrives_exactly_once(
    page: Page, live: LiveServer, tmp_path: Path
) -> None:
    photo = tiny_jpeg("offline")
    sha = hashlib.sha256(photo).hexdigest()
    log_in(page, live.url)
    # The bytes are a real picture: the browser decodes them to one pixel.
    size = page.evaluate("async b => (await createImageBitmap(new Blob([new Uint8Array(b)]))).width", list(photo))
    assert size == 1
    live.stop()
    page.reload()
    expect(page.locator("#app-view")).to_be_visible()

    fill_complaint(page, write(tmp_path, "segel.jpg", photo))
    send_complaint(page)
    expect(page.locator("#unsent-count")).to_have_text("1")
    page.get_by_role("button", name="Laporan saya").click()
    item = complaint_item(page)
    expect(item).to_have_attribute("data-state", "queued")
    expect(item).to_contain_text("Lampiran terkirim: 0 dari 1")
    record_id = item.get_attribute("data-id")
    stored = entry(page, record_id)
    kept = [(f["sha256"], f["size"], f["type"], f["data"]) for f in stored["files"]]
    assert kept == [(sha, len(photo), "image/jpeg", sha)]

    page.reload()  # still offline: the photo lives in IndexedDB with its report
    expect(page.locator("#unsent-count")).to_have_text("1")
    assert entry(page, record_id)["files"][0]["data"] == sha

    live.start()
    page.get_by_role("button", name="Kirim sekarang").click()
    expect(page.locator("#unsent-count")).to_have_text("0")
    page.get_by_role("button", name="Laporan saya").click()
    item = complaint_item(page)
    expect(item).to_have_attribute("data-state", "delivered")
    expect(item).to_have_attribute("data-files", "1")
    expect(item).to_contain_text("Lampiran terkirim: 1 dari 1")
    [blob] = blobs(live, sha)
    assert blob.read_bytes() == photo
    assert len(live.events(record_id, TOPICS["complaint"])) == 1
    assert len(attached(live, record_id)) == 1
    # Delivered: the bytes and the name left the phone; hash, size and type stay with the receipt.
    receipt = {"sha256": sha, "size": len(photo), "type": "image/jpeg", "linked": True, "data": None}
    assert entry(page, record_id)["files"] == [receipt]
    page.get_by_role("button", name="English").click()
    expect(item).to_contain_text("Attachments delivered: 1 of 1")


def test_lost_answer_on_the_link_is_retried_without_a_second_attached_event(
    page: Page, live: LiveServer, tmp_path: Path
) -> None:
    photo = tiny_jpeg("lost link answer")
    proxy = CuttingProxy(live.port)
    try:
        log_in(page, proxy.url)
        proxy.cut_endings, proxy.cuts = ("attachments",), 1
        fill_complaint(page, write(tmp_path, "a.jpg", photo))
        send_complaint(page)
        page.get_by_role("button", name="Laporan saya").click()
        item = complaint_item(page)
        expect(item).to_have_attribute("data-state", "delivered")  # by the app's own back-off retry
        expect(item).to_have_attribute("data-files", "1")
        record_id = item.get_attribute("data-id")
        link = f"/api/v1/complaints/{record_id}/attachments"
        assert proxy.cut_paths == [link]
        links = [json.loads(body)["sha256"] for path, body in proxy.posts if path == link]
        assert links == [hashlib.sha256(photo).hexdigest()] * len(links) and len(links) >= 2  # sent twice...
        assert len(attached(live, record_id)) == 1  # ...recorded once
        assert len(live.events(record_id, TOPICS["complaint"])) == 1
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_progress_survives_the_app_dying_between_steps(page: Page, live: LiveServer, tmp_path: Path) -> None:
    photo = tiny_jpeg("resume after upload")
    sha = hashlib.sha256(photo).hexdigest()
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "PUT" and "/attachments/" in r.url else None)
    log_in(page, live.url)
    page.route("**/api/v1/complaints", lambda route: route.abort())  # the report step finds no network
    fill_complaint(page, write(tmp_path, "b.jpg", photo))
    send_complaint(page)
    page.get_by_role("button", name="Laporan saya").click()
    record_id = complaint_item(page).get_attribute("data-id")
    wait_for(lambda: entry(page, record_id)["files"][0].get("stored"))
    assert not entry(page, record_id).get("posted") and len(uploads) == 1 and blobs(live, sha)

    page.unroute("**/api/v1/complaints")
    page.reload()  # the app restarts and resumes at the report step: the file is not uploaded again
    page.get_by_role("button", name="Laporan saya").click()
    expect(complaint_item(page)).to_have_attribute("data-state", "delivered")
    assert len(uploads) == 1
    assert len(attached(live, record_id)) == 1
    assert len(live.events(record_id, TOPICS["complaint"])) == 1


def test_too_big_or_not_a_picture_is_refused_on_the_phone(page: Page, live: LiveServer, tmp_path: Path) -> None:
    log_in(page, live.url)
    big = write(tmp_path, "besar.jpg", b"\xff\xd8\xff\xe0" + b"\0" * (6 * 1024 * 1024))
    fill_complaint(page, big)
    send_complaint(page)
    files = page.locator("#complaint-files")
    expect(page.locator("#complaint .error")).to_contain_text("File besar.jpg lebih dari 5 MB")
    expect(files).to_have_attribute("aria-invalid", "true")

    fake = write(tmp_path, "foto.jpg", b"just text, renamed\n")
    files.set_input_files(fake)
    send_complaint(page)
    expect(page.locator("#complaint .error")).to_contain_text("File foto.jpg bukan JPEG, PNG atau PDF")
    expect(page.locator("#unsent-count")).to_have_text("0")  # nothing was queued
    assert (
        page.evaluate("""() => new Promise(resolve => indexedDB.open('pantau').onsuccess = e => e.target.result
        .transaction('outbox').objectStore('outbox').count().onsuccess = c => resolve(c.target.result))""")
        == 0
    )


def test_a_file_the_server_refuses_can_be_replaced(page: Page, live: LiveServer, tmp_path: Path) -> None:
    first, second = tiny_jpeg("refused by the server"), tiny_jpeg("its replacement")
    log_in(page, live.url)
    refusal = json.dumps(
        {
            "title": "Unsupported Media Type",
            "status": 415,
            "detail": "Attach a JPEG, PNG or PDF file; the content is checked, not the name.",
        }
    )
    page.route(
        f"**/api/v1/attachments/{hashlib.sha256(first).hexdigest()}",
        lambda route: route.fulfill(status=415, content_type="application/problem+json", body=refusal),
    )
    fill_complaint(page, write(tmp_path, "rusak.jpg", first))
    send_complaint(page)
    page.get_by_role("button", name="Laporan saya").click()
    item = complaint_item(page)
    expect(item).to_have_attribute("data-state", "fix")
    expect(item).to_contain_text("Perlu diperbaiki")
    expect(item).to_contain_text("Attach a JPEG, PNG or PDF file")
    expect(page.locator("#unsent-count")).to_have_text("1")
    record_id = item.get_attribute("data-id")
    assert not live.events(record_id, TOPICS["complaint"])  # files go first: the report waits for them

    item.get_by_label("Ganti rusak.jpg (1 KB) dengan file lain").set_input_files(write(tmp_path, "baru.jpg", second))
    expect(item).to_have_attribute("data-state", "delivered")
    expect(item).to_have_attribute("data-files", "1")
    expect(page.locator("#unsent-count")).to_have_text("0")
    assert blobs(live, hashlib.sha256(second).hexdigest()) and not blobs(live, hashlib.sha256(first).hexdigest())
    assert len(attached(live, record_id)) == 1


def test_background_sync_uploads_the_file_from_the_service_worker(page: Page, live: LiveServer, tmp_path: Path) -> None:
    photo = tiny_jpeg("sent by the service worker")
    log_in(page, live.url)
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    live.stop()
    fill_complaint(page, write(tmp_path, "c.jpg", photo))
    send_complaint(page)
    expect(page.locator("#unsent-count")).to_have_text("1")
    page.get_by_role("button", name="Laporan saya").click()
    record_id = complaint_item(page).get_attribute("data-id")
    page.goto("about:blank")  # the app is closed: the worker reads the bytes from IndexedDB and sends them
    live.start()
    registration = next(r for r in registrations if r["scopeURL"].startswith(live.url) and not r["isDeleted"])
    sync = {"origin": live.url, "registrationId": registration["registrationId"], "tag": "outbox", "lastChance": False}
    cdp.send("ServiceWorker.dispatchSyncEvent", sync)
    wait_for(lambda: attached(live, record_id))
    assert blobs(live, hashlib.sha256(photo).hexdigest())[0].read_bytes() == photo
    page.goto(live.url + "/")
    expect(page.locator("#unsent-count")).to_have_text("0")
    expect(page.locator(f"#report-list li[data-id='{record_id}']")).to_have_attribute("data-files", "1")
    assert len(attached(live, record_id)) == 1
