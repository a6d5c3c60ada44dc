"""The hook for committee alerts: call it where an alert is first noticed; pushes follow from the event.

The status view computes alerts at query time, so no event says "alert raised". Whoever notices one
(the projection worker after applying a batch, a scheduled check) calls notify_alert with a key that
names this occurrence, e.g. f"no-visit:{date}" or the log position that caused it. The alert becomes a
CommitteeAlert.Raised event; the dispatcher's rule sends it to the PPK officers over the committee.
Calling again with the same key (a rebuild, a restart) records nothing and sends nothing.
"""

from __future__ import annotations

from typing import Any


def notify_alert(application: Any, committee_code: str, reason: str, key: str) -> bool:
    """Raise an alert on a committee once per key; True if this call recorded it."""
    return bool(application.raise_committee_alert(committee_code, reason, key))
