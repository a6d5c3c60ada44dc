"""Which status each lifecycle event leads to: shared by the status, queue and register views."""

from __future__ import annotations

from typing import Any

from projections.views import parse_iso
from server.domain.complaint import Complaint
from server.domain.correction import RegistrationCorrection

COMPLAINT_STATUS: dict[type, str] = {
    Complaint.Filed: "filed",
    Complaint.Acknowledged: "acknowledged",
    Complaint.InvestigationStarted: "investigating",
    Complaint.Escalated: "escalated",
    Complaint.Resolved: "resolved",
    Complaint.Dismissed: "dismissed",
    Complaint.Reopened: "reopened",
}
CORRECTION_STATUS: dict[type, str] = {
    RegistrationCorrection.Requested: "requested",
    RegistrationCorrection.Verified: "verified",
    RegistrationCorrection.Approved: "approved",
    RegistrationCorrection.Rejected: "rejected",
}


def visited_at(event: Any) -> Any:
    """When a visit happened: the phone's clock if it is not ahead of the server's, else the server's.

    Offline phones send visits hours late; the server time would make an old visit look like the latest.
    """
    device_time = (event.context or {}).get("device_time")
    if device_time:
        try:
            moment = parse_iso(device_time)
        except ValueError:
            return event.timestamp
        if moment.tzinfo is not None and moment <= event.timestamp:
            return moment
    return event.timestamp
