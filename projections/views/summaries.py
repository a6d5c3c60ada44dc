"""One-line, human summaries of events for the audit trail. A summary never carries a NIK:
the correction's NIK field is never read here, and any long digit run in free text is masked."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from projections.views import BoundedMemo
from projections.views.status import readiness_counts
from server.domain.account import Account
from server.domain.committee import Committee
from server.domain.complaint import Complaint
from server.domain.correction import RegistrationCorrection
from server.domain.visit import MonitoringVisit

MAX_CHARS = 200
# 16 digits is a NIK; any run of 12+ digits (with optional separators) is masked to be safe.
DIGIT_RUN = re.compile(r"\d(?:[\s.-]?\d){11,}")
MIN_RUN = 12
# For ASCII lines: each digit -> "0", each separator DIGIT_RUN allows (ASCII whitespace, ".", "-") -> ".",
# anything else -> " ", so that bytes.split() leaves exactly the stretches a digit run could lie in.
_ASCII_SEPARATORS = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f .-"  # what `\s` matches below 128, and . -
_SHAPES = bytes(
    ord("0") if byte in b"0123456789" else ord(".") if byte in _ASCII_SEPARATORS else ord(" ") for byte in range(256)
)


def _mask_digits(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "*" * (len(digits) - 4) + digits[-4:]


def may_hold_digit_run(line: str) -> bool:
    r"""False only if DIGIT_RUN cannot match: no stretch of digits and separators holds 12 digits. Costs
    a fraction of the regex, which most lines then skip: a committee code and a few small numbers (a
    visit's line) hold 12 digits in all, never in one stretch. `\d` also matches other scripts' digits,
    so a line that is not ASCII always goes through the regex."""
    if not line.isascii():
        return True
    shaped = line.encode("ascii").translate(_SHAPES)
    return shaped.count(b"0") >= MIN_RUN and any(stretch.count(b"0") >= MIN_RUN for stretch in shaped.split())


def clean(text: str) -> str:
    """One line, bounded, with NIK-like digit runs masked."""
    line = " ".join(str(text).split())
    if may_hold_digit_run(line):
        line = DIGIT_RUN.sub(_mask_digits, line)
    return line if len(line) <= MAX_CHARS else line[: MAX_CHARS - 1] + "…"


def _why(event: Any) -> str:
    reason = getattr(event, "reason", None) or getattr(event, "note", None)
    return f": {reason}" if reason else ""


def _visit_recorded(e: Any) -> str:
    ready, total = readiness_counts(e.checklist_version, e.checklist)
    follow = f", {len(e.follow_ups)} follow-up(s)" if e.follow_ups else ""
    return f"Visit recorded at {e.committee}: readiness {ready}/{total} (checklist v{e.checklist_version}){follow}"


SUMMARIES: dict[type, Callable[[Any], str]] = {
    Committee.Registered: lambda e: f"{e.code} {e.name} registered",
    Committee.MemberAppointed: lambda e: f"Member {e.member_id} appointed as {e.position}",
    Committee.MemberRemoved: lambda e: f"Member {e.member_id} removed{_why(e)}",
    MonitoringVisit.Recorded: _visit_recorded,
    MonitoringVisit.Amended: lambda e: f"Visit amended{_why(e)}",
    MonitoringVisit.FollowUpResolved: lambda e: f"Follow-up {e.index} resolved: {e.resolution}",
    Complaint.Filed: lambda e: f"Complaint filed at {e.committee}: {e.category}",
    Complaint.Acknowledged: lambda e: f"Complaint acknowledged{_why(e)}",
    Complaint.InvestigationStarted: lambda e: f"Investigation started{_why(e)}",
    Complaint.Escalated: lambda e: f"Complaint escalated to {e.target}{_why(e)}",
    Complaint.Resolved: lambda e: f"Complaint resolved{_why(e)}",
    Complaint.Dismissed: lambda e: f"Complaint dismissed{_why(e)}",
    Complaint.Reopened: lambda e: f"Complaint reopened{_why(e)}",
    RegistrationCorrection.Requested: lambda e: (
        f"Correction requested at {e.committee}: {e.kind}"
        + (f" ({e.tms_reason})" if e.tms_reason else "")
        + (f" to {e.target_tps}" if e.target_tps else "")
    ),
    RegistrationCorrection.Verified: lambda e: f"Correction verified{_why(e)}",
    RegistrationCorrection.Approved: lambda e: f"Correction approved{_why(e)}",
    RegistrationCorrection.Rejected: lambda e: f"Correction rejected{_why(e)}",
    Account.Created: lambda e: f"Account {e.username} created",
    Account.RoleGranted: lambda e: f"Role {e.role} granted" + (f" for {e.committee}" if e.committee else ""),
    Account.RoleRevoked: lambda e: f"Role revoked{_why(e)}",
    Account.PasswordChanged: lambda e: "Password changed",
    Account.Locked: lambda e: f"Account locked{_why(e)}" + (f" until {e.until}" if e.until else ""),
    Account.Unlocked: lambda e: f"Account unlocked{_why(e)}",
    Account.TokenIssued: lambda e: f"Token issued, expires {e.expires_at}",
    Account.TokenRevoked: lambda e: "Token revoked",
}


# Cleaned lines by their text. Most lines repeat (the same committee's visit at the same readiness, a
# complaint filed there in the same category), so the worker cleans each distinct line once. (It holds
# what the events in memory hold anyway.)
_cleaned = BoundedMemo(clean, 4096)


def summary(event: Any) -> str:
    """The audit line for an event; events added later get their type name until they get a line here."""
    describe = SUMMARIES.get(type(event))
    return _cleaned[describe(event) if describe else type(event).__qualname__.replace(".", " ")]
