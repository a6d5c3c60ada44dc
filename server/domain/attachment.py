"""Photos and PDFs attached to visits, complaints and corrections: one event class shared by all three.

The event lives here rather than inside each aggregate so one topic (`server.domain.attachment:Attached`)
means "a file was attached to this record" whatever the record is. It carries the content's SHA-256, size
and media type only: never the bytes, never a file name (names often hold a voter's name).
"""

from __future__ import annotations

import re
from typing import Any

from server.domain.base import PantauAggregate
from server.domain.errors import InvalidInputError

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MEDIA_TYPES = ("image/jpeg", "image/png", "application/pdf")
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS_PER_RECORD = 100


class Attached(PantauAggregate.Event):
    """A stored file (by content hash) now belongs to the record's evidence."""

    sha256: str
    size: int
    media_type: str

    def apply(self, aggregate: Any) -> None:
        # Records written before attachments existed have no list yet.
        attachments = list(getattr(aggregate, "attachments", ()))
        attachments.append(
            {
                "sha256": self.sha256,
                "size": self.size,
                "media_type": self.media_type,
                "by": self.context.get("actor"),
                "version": self.originator_version,
                "at": self.timestamp.isoformat(),
            }
        )
        aggregate.attachments = attachments


def attachments_of(aggregate: PantauAggregate) -> list[dict[str, Any]]:
    """The record's attachments, oldest first."""
    return [dict(item) for item in getattr(aggregate, "attachments", ())]


def existing_attachment(aggregate: PantauAggregate, sha256: str) -> dict[str, Any] | None:
    """The entry for this hash if it is already attached (an outbox resend), else None."""
    return next((item for item in attachments_of(aggregate) if item["sha256"] == sha256), None)


def attach(aggregate: PantauAggregate, sha256: str, size: int, media_type: str, context: dict[str, Any]) -> None:
    """Attach a stored file to a record; any status, since evidence may arrive after a decision."""
    if not SHA256_HEX.match(sha256):
        raise InvalidInputError("sha256 must be 64 lowercase hex digits.", "sha256")
    if media_type not in MEDIA_TYPES:
        raise InvalidInputError(f"Only {', '.join(MEDIA_TYPES)} may be attached.", "sha256")
    if not 0 < size <= MAX_ATTACHMENT_BYTES:
        raise InvalidInputError("An attachment is between 1 byte and 5 MB.", "sha256")
    if len(attachments_of(aggregate)) >= MAX_ATTACHMENTS_PER_RECORD:
        raise InvalidInputError(f"A record holds at most {MAX_ATTACHMENTS_PER_RECORD} attachments.", "sha256")
    aggregate.trigger_event(Attached, sha256=sha256, size=size, media_type=media_type, context=context)
