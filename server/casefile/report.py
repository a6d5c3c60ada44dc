"""report.html: the case file's timeline for people, in Bahasa Indonesia.

Static HTML with no script at all (a court clerk may open it anywhere) and a CSP that forbids scripts even
if one slipped in through an event's text; every value is escaped. The report is a reading aid: the
evidence is events.json and its proofs, which verify.py checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from server.domain.correction import mask_nik
from server.ledger.leaf import EventRecord

WIB = timezone(timedelta(hours=7), "WIB")  # Pangkalpinang (Bangka Belitung) keeps Western Indonesia Time
MAX_TEXT = 400
EVENTS = {
    "Dispute.Opened": "Sengketa dibuka",
    "Dispute.NoteAdded": "Catatan ditambahkan",
    "Dispute.EvidenceAttached": "Bukti dilampirkan",
    "Dispute.RulingRecorded": "Putusan dicatat",
    "Dispute.Closed": "Sengketa ditutup",
    "Dispute.Reopened": "Sengketa dibuka kembali",
    "Complaint.Filed": "Pengaduan diajukan",
    "Complaint.Acknowledged": "Pengaduan diterima",
    "Complaint.InvestigationStarted": "Pemeriksaan dimulai",
    "Complaint.Escalated": "Pengaduan diteruskan",
    "Complaint.Resolved": "Pengaduan diselesaikan",
    "Complaint.Dismissed": "Pengaduan dihentikan",
    "Complaint.Reopened": "Pengaduan dibuka kembali",
    "RegistrationCorrection.Requested": "Perbaikan data pemilih diajukan",
    "RegistrationCorrection.Verified": "Perbaikan diverifikasi",
    "RegistrationCorrection.Approved": "Perbaikan disetujui",
    "RegistrationCorrection.Rejected": "Perbaikan ditolak",
    "MonitoringVisit.Recorded": "Kunjungan pemantauan dicatat",
    "MonitoringVisit.Amended": "Kunjungan pemantauan diralat",
    "MonitoringVisit.FollowUpResolved": "Tindak lanjut diselesaikan",
    "Attached": "Berkas dilampirkan",
}
# Fields worth a line in the timeline, with their labels; everything else is in events.json.
LABELS = {
    "title": "Judul", "summary": "Ringkasan", "text": "Catatan", "description": "Uraian", "category": "Kategori",
    "committee": "Panitia", "kind": "Jenis", "nik": "NIK", "full_name": "Nama", "complainant": "Pengadu",
    "tps": "TPS", "target_tps": "TPS tujuan", "tms_reason": "Alasan TMS", "details": "Rincian",
    "findings": "Temuan", "follow_ups": "Tindak lanjut", "note": "Catatan", "reason": "Alasan", "target": "Tujuan",
    "outcome": "Hasil", "ruling": "Putusan", "evidence_kind": "Jenis bukti", "position": "Posisi peristiwa",
    "sha256": "SHA-256", "media_type": "Jenis berkas", "size": "Ukuran (bita)", "subjects": "Pokok",
    "resolution": "Penyelesaian",
}
ROLES = {
    "pps_officer": "Petugas PPS", "ppk_officer": "Petugas PPK", "kpu_admin": "Admin KPU", "auditor": "Auditor",
    "legal": "Bagian Hukum", "system": "Sistem",
}
RELATED = {"dispute": "Sengketa", "subject": "Pokok sengketa", "evidence": "Bukti"}
KINDS = {"visit": "Kunjungan", "complaint": "Pengaduan", "correction": "Perbaikan data pemilih"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#111}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.3rem;vertical-align:top;text-align:left}
th{background:#eee}dt{font-weight:bold}dd{margin:0 0 .5rem 0}.warn{background:#fee;border:1px solid #c00;padding:.5rem}
code{word-break:break-all}
"""


@dataclass(frozen=True)
class TimelineEntry:
    position: int
    related_as: str
    record: EventRecord


def render_report(
    contents: Any,
    timeline: list[TimelineEntry],
    manifest: dict[str, Any],
    attachments: list[str],
    withheld: frozenset[str],
) -> str:
    """The whole report.html."""
    dispute = contents.dispute
    facts = [
        ("Judul", dispute["title"]), ("Ringkasan", dispute["summary"]), ("Nomor sengketa", dispute["id"]),
        ("Status", dispute["status"]), ("Dibuka oleh", dispute["opened_by"]),
        ("Diekspor pada", _time(manifest["exported_at"])),
        ("Diekspor untuk peran", ROLES.get(manifest["exported_for_role"], manifest["exported_for_role"])),
        ("Log", f"{manifest['origin']}, checkpoint berukuran {manifest['tree_size']} peristiwa"),
    ]
    parts = [
        '<!doctype html><html lang="id"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
        "img-src 'self'\">",
        f"<title>Berkas perkara: {escape(dispute['title'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>Berkas perkara sengketa: {escape(dispute['title'])}</h1><dl>",
        *(f"<dt>{label}</dt><dd>{escape(str(value))}</dd>" for label, value in facts),
        "</dl>",
    ]
    if manifest["warnings"]:
        items = "".join(f"<li>{escape(w)}</li>" for w in manifest["warnings"])
        parts.append(f'<div class="warn"><strong>Peringatan saat ekspor:</strong><ul>{items}</ul></div>')
    parts.append("<h2>Pokok sengketa</h2><ul>")
    parts += [
        f"<li>{escape(KINDS.get(s['kind'], s['kind']))} <code>{escape(s['id'])}</code>, panitia "
        f"{escape(s['committee'])}, status {escape(s['status'])}</li>"
        for s in contents.subjects
    ]
    parts.append("</ul><h2>Kronologi</h2><table><tr><th>Waktu</th><th>Posisi</th><th>Pelaku</th><th>Peran</th>"
                 "<th>Bagian dari</th><th>Peristiwa</th><th>Ringkasan</th></tr>")
    parts += [_row(entry, manifest["exported_for_role"], withheld) for entry in timeline]
    parts.append("</table><h2>Lampiran</h2><ul>")
    parts += [f'<li><a href="attachments/{escape(name)}"><code>{escape(name)}</code></a></li>' for name in attachments]
    parts.append("</ul>" + _explanation(withheld) + "</body></html>\n")
    return "\n".join(parts)


def _row(entry: TimelineEntry, role: str, withheld: frozenset[str]) -> str:
    fields = entry.record.fields
    context = fields.get("context") if isinstance(fields.get("context"), dict) else {}
    topic = entry.record.topic.rpartition(":")[2]
    summary = "; ".join(
        f"{LABELS[name]}: {_value(name, value, withheld)}"
        for name, value in fields.items()
        if name in LABELS and value not in (None, "", [])
    )
    cells = [
        _time(fields.get("timestamp")),
        str(entry.position),
        str(context.get("actor", "")),
        ROLES.get(str(context.get("role")), str(context.get("role", ""))),
        RELATED.get(entry.related_as, entry.related_as),
        EVENTS.get(topic, topic),
        summary,
    ]
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"


def _value(name: str, value: Any, withheld: frozenset[str]) -> str:
    if name in withheld:
        # Readers without NIK access see its last four digits everywhere else in Pantau, so here too.
        shown = mask_nik(value) if name == "nik" and isinstance(value, str) else ""
        return f"{shown} (disembunyikan)".strip()
    if name == "subjects" and isinstance(value, list):
        return ", ".join(f"{KINDS.get(s.get('kind'), s.get('kind'))} {s.get('id')}" for s in value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _time(value: Any) -> str:
    """An event timestamp (the transcoder's {"_type_", "_data_"} or ISO text) in WIB."""
    text = value.get("_data_") if isinstance(value, dict) else value
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text or "")
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M:%S WIB")


def _explanation(withheld: frozenset[str]) -> str:
    hidden = ", ".join(f"<code>{escape(n)}</code>" for n in sorted(withheld))
    return (
        "<h2>Cara memeriksa berkas ini</h2>"
        "<p>Jalankan <code>python verify.py</code> di folder ini (perlu Python 3.9+ dan paket "
        "<code>cryptography</code>). Program itu menghitung ulang setiap peristiwa, memeriksa bukti Merkle "
        "(RFC 9162) terhadap checkpoint yang ditandatangani, tanda tangan Ed25519, dan SHA-256 setiap lampiran. "
        "Jika Anda sudah memegang checkpoint lama, jalankan <code>python verify.py --trusted checkpoint-lama.txt"
        "</code> untuk memastikan log hanya bertambah, tidak diubah.</p>"
        f"<p>Data yang disembunyikan dalam berkas ini: {hidden}. Nilainya tidak ada di berkas; yang ada hanya "
        "komitmennya (SHA-256 dari garam rahasia dan nilai), sehingga peristiwa tetap dapat diverifikasi tanpa "
        "membuka data tersebut.</p>"
    )
