"""Disputes and attachments: a mixin of the application service, kept apart so each module stays small.

Blob bytes never reach this module: the HTTP layer stores and inspects them (server/attachments/) and passes
only hash, size and media type, so the domain stays free of storage code.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from server.domain.attachment import attach, existing_attachment
from server.domain.base import Context
from server.domain.dispute import Dispute, check_subjects
from server.domain.errors import ConflictError, InvalidInputError, NotFoundError
from server.domain.records import REPORT_KINDS, as_record, check_scope
from server.domain.roles import Actor

# Attaching commutes with every other change, so a concurrent save is retried rather than refused. N saves
# to one record at once need up to N tries (each round of a process's grouped saves lets one win).
ATTACH_RETRIES = 20


class EvidenceCommands:
    """Open and read disputes; attach stored files to records; name log events as evidence."""

    repository: Any
    recorder: Any
    save: Any
    act: Any
    _load: Any
    _replay: Any

    def open_dispute(self, actor: Actor, body: dict[str, Any], context: Context) -> Any:
        """Open a dispute over existing records; idempotent on the client's id like every submission."""
        # application.py imports this mixin, so its names are imported when called, not at import time.
        from server.domain.application import Receipt, fingerprint

        actor.check_permission("dispute:write")
        subjects = check_subjects(body["subjects"])
        committees = []
        for subject in subjects:
            try:
                record = self._load(subject["kind"], UUID(subject["id"]))
            except NotFoundError:
                raise InvalidInputError(f"No {subject['kind']} {subject['id']} to dispute.", "subjects") from None
            committees.append(record.committee)
        fp = fingerprint(body)
        dispute = Dispute.open(
            id=UUID(str(body["id"])),
            title=body["title"],
            summary=body.get("summary", ""),
            subjects=subjects,
            committees=committees,
            fingerprint=fp,
            context=context.as_event_data(),
        )
        try:
            recordings = self.save(dispute)
        except IntegrityError:
            return self._replay(actor, dispute.id, Dispute, fp)
        return Receipt(as_record(dispute, actor), recordings[0].notification.id)

    def get_dispute(self, actor: Actor, dispute_id: UUID, version: int | None = None) -> dict[str, Any]:
        """A dispute, optionally as it was at a version."""
        actor.check_permission("dispute:read")
        dispute = self._load("dispute", dispute_id, version)
        check_scope(actor, dispute)
        return as_record(dispute, actor)

    def attach_dispute_evidence(
        self,
        actor: Actor,
        dispute_id: UUID,
        expected_version: int,
        description: str,
        context: Context,
        blob: dict[str, Any] | None = None,
        position: int | None = None,
    ) -> Any:
        """Add a stored file (described by the caller) or a log event (looked up here) to a dispute's evidence."""
        params: dict[str, Any] = {"description": description}
        if blob is not None:
            params.update(sha256=blob["sha256"], size=blob["size"], media_type=blob["media_type"])
        if position is not None:
            params.update(self.event_reference(position))
        return self.act(actor, "dispute", dispute_id, "attach_evidence", expected_version, params, context)

    def event_reference(self, position: int) -> dict[str, Any]:
        """Position, aggregate id and version of a logged event: the id and version still name it if rows move."""
        found = self.recorder.select_notifications(start=position, limit=1, stop=position)
        if position < 1 or not found:
            raise InvalidInputError(f"No event at log position {position}.", "position")
        notification = found[0]
        return {
            "position": position,
            "aggregate_id": str(notification.originator_id),
            "aggregate_version": notification.originator_version,
        }

    def attach_file(
        self,
        actor: Actor,
        kind: str,
        record_id: UUID,
        blob: dict[str, Any],
        expected_version: int | None,
        context: Context,
    ) -> Any:
        """Attach a stored file to a visit, complaint or correction; a resend of the same hash is a replay."""
        from server.domain.application import Receipt

        actor.check_permission("attachment:add")
        if kind not in REPORT_KINDS:
            raise NotFoundError(f"Files attach to {', '.join(REPORT_KINDS)}, not to a {kind}.")
        for _ in range(ATTACH_RETRIES):
            record = self._load(kind, record_id)
            check_scope(actor, record)
            existing = existing_attachment(record, blob["sha256"])
            if existing is not None:
                position = self.recorder.position_of(record_id, existing["version"])
                return Receipt(as_record(record, actor), position, replayed=True)
            record.check_version(expected_version)
            attach(record, blob["sha256"], blob["size"], blob["media_type"], context.as_event_data())
            try:
                recordings = self.save(record)
            except IntegrityError:
                if expected_version is not None:
                    # Report the change that beat this one, as every lifecycle step does.
                    self._load(kind, record_id).check_version(expected_version)
                    raise
                continue
            return Receipt(as_record(record, actor), recordings[-1].notification.id)
        raise ConflictError(f"The {kind} {record_id} kept changing while attaching; send the attachment again.")
