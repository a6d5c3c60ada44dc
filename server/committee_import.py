"""Reading committees from the official area-code CSV (kecamatan_code, kecamatan, kelurahan_code, kelurahan)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

REFERENCE_CSV = Path(__file__).resolve().parent / "data" / "pangkalpinang_areas.csv"
COLUMNS = ("kecamatan_code", "kecamatan", "kelurahan_code", "kelurahan")


def read_areas(path: Path) -> Iterator[tuple[str, str]]:
    """(code, name) for every PPK, then every PPS, each once, in file order."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    seen: set[str] = set()
    for row in rows:
        code = row["kecamatan_code"].strip()
        if code not in seen:
            seen.add(code)
            yield code, f"PPK {row['kecamatan'].strip()}"
    for row in rows:
        code = row["kelurahan_code"].strip()
        if code not in seen:
            seen.add(code)
            yield code, f"PPS {row['kelurahan'].strip()}"
