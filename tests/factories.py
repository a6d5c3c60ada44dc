"""Valid request bodies, built fresh per call with a new client id."""

from __future__ import annotations

import uuid
from typing import Any

from server.domain.checklist import CURRENT_CHECKLIST_VERSION, checklist

PPS = "19.71.01.1004"


def visit_body(committee: str = PPS, **overrides: Any) -> dict[str, Any]:
    keys = checklist(CURRENT_CHECKLIST_VERSION).keys()
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "committee": committee,
        "checklist_version": CURRENT_CHECKLIST_VERSION,
        "checklist": {key: index % 2 == 0 for index, key in enumerate(keys)},
        "findings": "Papan DPT terpasang di kantor kelurahan.",
        "follow_ups": ["Pastikan akses kursi roda di TPS 003"],
        "device_time": "2026-11-26T09:15:00+07:00",
        "location": {"latitude": -2.1316, "longitude": 106.1169, "accuracy_m": 15.0},
    }
    body.update(overrides)
    return body


def complaint_body(committee: str = PPS, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "committee": committee,
        "category": "neutrality",
        "description": "Anggota PPS terlihat di acara kampanye.",
        "device_time": "2026-11-26T10:00:00+07:00",
    }
    body.update(overrides)
    return body


def correction_body(committee: str = PPS, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "committee": committee,
        "kind": "add_to_dptb",
        "nik": "1971014403900007",
        "full_name": "Siti Aminah",
        "tps": "TPS 003",
        "target_tps": "TPS Lokasi Khusus 901 (Lapas Perempuan Pangkalpinang)",
        "details": "Warga binaan, pindah memilih ke TPS LOKASI KHUSUS.",
        "device_time": "2026-11-26T11:00:00+07:00",
    }
    body.update(overrides)
    return body
