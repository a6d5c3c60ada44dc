"""Notification texts, Bahasa Indonesia first, English for accounts that prefer it."""

from __future__ import annotations

import json
from typing import Any

from server.domain.push_rules import Notice

# The push record limit is 4,096 bytes and encryption adds up to 103; we keep well inside it.
MAX_PAYLOAD_BYTES = 3 * 1024
LANGUAGES = ("id", "en")

CATEGORIES = {
    "id": {"voter_registration": "pendaftaran pemilih", "neutrality": "netralitas", "technical": "teknis",
           "logistics": "logistik", "service": "pelayanan", "other": "lainnya"},
    "en": {"voter_registration": "voter registration", "neutrality": "neutrality", "technical": "technical",
           "logistics": "logistics", "service": "service", "other": "other"},
}
TARGETS = {"id": {"legal": "bagian hukum", "bawaslu": "Bawaslu"}, "en": {"legal": "legal", "bawaslu": "Bawaslu"}}

# kind -> language -> (title, body); placeholders come from Notice.params.
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "complaint_filed": {
        "id": ("Pengaduan baru", "Pengaduan {category} di {level} {committee_name} ({committee}) perlu ditanggapi."),
        "en": ("New complaint", "A {category} complaint at {level} {committee_name} ({committee}) needs attention."),
    },
    "complaint_escalated": {
        "id": ("Pengaduan dieskalasi", "Pengaduan di {committee_name} ({committee}) dieskalasi ke {target}: {reason}"),
        "en": ("Complaint escalated", "A complaint at {committee_name} ({committee}) went to {target}: {reason}"),
    },
    "correction_approved": {
        "id": ("Perbaikan data disetujui", "Perbaikan data pemilih Anda di {committee_name} disetujui."),
        "en": ("Correction approved", "Your voter data correction at {committee_name} was approved."),
    },
    "correction_rejected": {
        "id": ("Perbaikan data ditolak", "Perbaikan data pemilih Anda di {committee_name} ditolak: {reason}"),
        "en": ("Correction rejected", "Your voter data correction at {committee_name} was rejected: {reason}"),
    },
    "committee_alert": {
        "id": ("Peringatan panitia", "{level} {committee_name} ({committee}): {reason}"),
        "en": ("Committee alert", "{level} {committee_name} ({committee}): {reason}"),
    },
    "dispute_opened": {
        "id": ("Sengketa baru", "{title} ({committee_name}): perlu ditinjau bagian hukum."),
        "en": ("New dispute", "{title} ({committee_name}): legal review needed."),
    },
}


def render(notice: Notice, language: str) -> bytes:
    """The JSON the service worker shows: title, body, where a tap goes, and a tag that collapses repeats."""
    language = language if language in LANGUAGES else "id"
    title, body = TEXTS[notice.kind][language]
    params: dict[str, Any] = dict(notice.params)
    if "category" in params:
        params["category"] = CATEGORIES[language].get(params["category"], params["category"])
    if "target" in params:
        params["target"] = TARGETS[language].get(params["target"], params["target"])
    payload = {
        "title": title,
        "body": body.format_map(_Blank(params)),
        "url": notice.url,
        "tag": notice.topic,
        "kind": notice.kind,
        "lang": language,
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) >= MAX_PAYLOAD_BYTES:
        # Not an assert: python -O must not turn an oversized push into a silently dropped one.
        raise ValueError(f"push payload of {len(data)} bytes for {notice.kind}")
    return data


class _Blank(dict[str, Any]):
    """A missing placeholder renders as '-' rather than failing a whole delivery batch."""

    def __missing__(self, key: str) -> str:
        return "-"
