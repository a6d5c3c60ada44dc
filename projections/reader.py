"""Reading the log for the worker: each notification selected and decoded once per batch.

(Reading the next batch ahead in a helper thread while the current one is written was tried and
measured: on this project's 2-core machines it was 15% slower on SQLite and no faster on PostgreSQL,
the decoding thread competing for the GIL with the views' own Python work.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.utils import resolve_topic

from projections.views import Item


@dataclass(frozen=True)
class Batch:
    """Notifications after a position: the decoded events wanted, and where and when the batch ends."""

    items: list[Item]
    size: int  # notifications read, wanted or not
    last_position: int
    last_time: datetime  # the last notification's time, for the worker's lag figure


def read_batch(
    application: Any, start: int, stop: int | None, limit: int, wanted: frozenset[type] | None
) -> Batch | None:
    """Notifications after `start` (up to `stop`, at most `limit`), None at the end of the log.

    `wanted`: the event classes to decode (None: all); any other notification is judged by its topic
    and never decoded.
    """
    recorder, mapper = application.recorder, application.mapper
    notifications = recorder.select_notifications(start=start, limit=limit, stop=stop, inclusive_of_start=False)
    if not notifications:
        return None
    if wanted is None:
        items = [(n.id, mapper.to_domain_event(n)) for n in notifications]
    else:
        items = [(n.id, mapper.to_domain_event(n)) for n in notifications if resolve_topic(n.topic) in wanted]
    last = notifications[-1]
    last_event = items[-1][1] if items and items[-1][0] == last.id else mapper.to_domain_event(last)
    return Batch(items, len(notifications), last.id, last_event.timestamp)
