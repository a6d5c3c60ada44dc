"""Demo data: the reference committees and one account per role, created idempotently."""

from __future__ import annotations

import contextlib

from server.committee_import import REFERENCE_CSV, read_areas
from server.domain.application import PantauApplication
from server.domain.base import SYSTEM
from server.domain.errors import AlreadyExistsError

# (username, role, committee, password): demo-only credentials, printed when the demo starts.
DEMO_ACCOUNTS = (
    ("pps_semabung", "pps_officer", "19.71.01.1004", "demo-pps-2024"),
    ("pps_bacang", "pps_officer", "19.71.01.1006", "demo-pps-2024"),
    ("ppk_bukitintan", "ppk_officer", "19.71.01", "demo-ppk-2024"),
    ("kpu_admin", "kpu_admin", None, "demo-kpu-2024"),
    ("auditor", "auditor", None, "demo-audit-2024"),
    ("legal", "legal", None, "demo-legal-2024"),
)


def import_committees(application: PantauApplication, path=REFERENCE_CSV) -> tuple[int, int]:
    """Register every committee in the CSV; (new, already there)."""
    new = existing = 0
    for code, name in read_areas(path):
        if application.register_committee(code, name, SYSTEM):
            new += 1
        else:
            existing += 1
    return new, existing


def ensure_demo_accounts(application: PantauApplication) -> list[tuple[str, str, str | None, str]]:
    """Create the demo accounts that do not exist yet; returns all of them for printing."""
    for username, role, committee, password in DEMO_ACCOUNTS:
        with contextlib.suppress(AlreadyExistsError):
            application.create_account(username, password, role, committee, SYSTEM)
    return list(DEMO_ACCOUNTS)
