"""The application service: load, act, save, return plain data. One method per command."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

import rfc8785
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from server.domain.account import Account
from server.domain.administration import AccountAdministration
from server.domain.base import Context, PantauAggregate
from server.domain.checklist import checklist
from server.domain.committee import Committee, committee_id, kind_of, parent_code
from server.domain.complaint import Complaint
from server.domain.correction import RegistrationCorrection
from server.domain.errors import (
    InvalidInputError,
    NotFoundError,
    SubmissionConflictError,
)
from server.domain.evidence import EvidenceCommands
from server.domain.push_commands import PushCommands
from server.domain.records import KINDS, as_record, check_scope
from server.domain.roles import Actor
from server.domain.sessions import SessionCommands
from server.domain.visit import MonitoringVisit

# Which permission each lifecycle step needs; the aggregate method of the same name enforces the rest.
ACTIONS: dict[str, dict[str, str]] = {
    "visit": {"amend": "visit:amend", "resolve_follow_up": "visit:amend"},
    "complaint": {
        "acknowledge": "complaint:handle",
        "investigate": "complaint:handle",
        "escalate": "complaint:handle",
        "resolve": "complaint:handle",
        "dismiss": "complaint:handle",
        "reopen": "complaint:handle",
    },
    "correction": {"verify": "correction:verify", "approve": "correction:decide", "reject": "correction:decide"},
    "dispute": {
        "add_note": "dispute:write",
        "attach_evidence": "dispute:write",
        "record_ruling": "dispute:write",
        "close": "dispute:write",
        "reopen": "dispute:write",
    },
}


@dataclass(frozen=True)
class Receipt:
    """What a write answers: the record, its log position, and whether this was a replay."""

    record: dict[str, Any]
    position: int
    replayed: bool = False


def fingerprint(body: dict[str, Any]) -> str:
    """Identity of a submission's content; RFC 8785 so key order and number spelling cannot matter."""
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


class PantauApplication(SessionCommands, AccountAdministration, PushCommands, EvidenceCommands, Application):
    """Every write in Pantau goes through here."""

    name = "Pantau"
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "10000"}
    snapshotting_intervals: ClassVar[dict[type, int]] = {Account: 50}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A committee's code and parent are fixed when it is registered and no event changes them, so each
        # process remembers them: a submission then reads the store once (the account), not twice.
        self._placements: dict[str, dict[str, Any]] = {}

    # --- committees -------------------------------------------------------------------------

    def register_committee(self, code: str, name: str, context: Context) -> bool:
        """Register a committee once; False if it already existed (imports are re-runnable)."""
        kind = kind_of(code)
        data = context.as_event_data()
        committee = Committee(code=code, kind=kind, name=name, parent=parent_code(code), context=data)
        try:
            self.save(committee)
        except IntegrityError:
            return False
        return True

    def committee(self, code: str) -> Committee:
        """The committee for an area code, or NotFoundError."""
        try:
            kind_of(code)
        except InvalidInputError:
            raise NotFoundError(f"No committee with code {code}.") from None
        try:
            return self.repository.get(committee_id(code))
        except AggregateNotFoundError:
            raise NotFoundError(f"No committee with code {code}.") from None

    # --- reports ----------------------------------------------------------------------------

    def record_visit(self, actor: Actor, body: dict[str, Any], context: Context) -> Receipt:
        """A monitoring visit; idempotent on the client's id."""
        version = body["checklist_version"]
        checklist(version).check_answers(body["checklist"])
        return self._submit(
            actor,
            body,
            lambda fp: MonitoringVisit(
                id=UUID(str(body["id"])),
                committee=body["committee"],
                checklist_version=version,
                checklist=body["checklist"],
                findings=body.get("findings", ""),
                follow_ups=list(body.get("follow_ups", [])),
                fingerprint=fp,
                context=context.as_event_data(),
            ),
        )

    def file_complaint(self, actor: Actor, body: dict[str, Any], context: Context) -> Receipt:
        """A complaint about a committee; idempotent on the client's id."""
        return self._submit(
            actor,
            body,
            lambda fp: Complaint(
                id=UUID(str(body["id"])),
                committee=body["committee"],
                category=body["category"],
                description=body["description"],
                complainant=body.get("complainant"),
                fingerprint=fp,
                context=context.as_event_data(),
            ),
        )

    def request_correction(self, actor: Actor, body: dict[str, Any], context: Context) -> Receipt:
        """A voter registration correction; idempotent on the client's id."""
        RegistrationCorrection.check_request(body["kind"], body["nik"], body.get("target_tps"), body.get("tms_reason"))
        return self._submit(
            actor,
            body,
            lambda fp: RegistrationCorrection(
                id=UUID(str(body["id"])),
                committee=body["committee"],
                kind=body["kind"],
                nik=body["nik"],
                full_name=body["full_name"],
                tps=body.get("tps"),
                target_tps=body.get("target_tps"),
                tms_reason=body.get("tms_reason"),
                details=body.get("details", ""),
                fingerprint=fp,
                context=context.as_event_data(),
            ),
        )

    def _submit(self, actor: Actor, body: dict[str, Any], build: Any) -> Receipt:
        actor.check_permission("report:create")
        actor.check_committee(*self._placement(body["committee"]))
        # The same UUID spelled differently (case, braces, urn:) is the same submission.
        fp = fingerprint({**body, "id": str(UUID(str(body["id"])))})
        aggregate = build(fp)
        try:
            recordings = self.save(aggregate)
        except IntegrityError:
            # The id exists: the same submission again gets its original answer; anything else is a conflict.
            return self._replay(actor, UUID(str(body["id"])), type(aggregate), fp)
        return Receipt(as_record(aggregate, actor), recordings[0].notification.id)

    def _placement(self, code: str) -> tuple[str, str | None]:
        """A registered committee's (code, parent); NotFoundError if there is none."""
        entry = self.committee_entry(code)
        return entry["code"], entry["parent"]

    def committee_entry(self, code: str) -> dict[str, Any]:
        """A registered committee's code, kind, name and parent (fixed at registration, so remembered)."""
        entry = self._placements.get(code)
        if entry is None:
            committee = self.committee(code)
            entry = {"code": committee.code, "kind": committee.kind, "name": committee.name, "parent": committee.parent}
            self._placements[code] = entry
        return dict(entry)

    def _replay(self, actor: Actor, record_id: UUID, cls: type[PantauAggregate], fp: str) -> Receipt:
        try:
            original = self.repository.get(record_id, version=1)
        except AggregateNotFoundError:
            raise SubmissionConflictError(f"Id {record_id} is already used by another kind of record.") from None
        if not isinstance(original, cls) or getattr(original, "fingerprint", None) != fp:
            raise SubmissionConflictError(
                f"Submission {record_id} was already received with different content; "
                "send a new id for a new report, or amend the existing one."
            )
        if original.last_changed_by != actor.username:
            raise SubmissionConflictError(f"Submission id {record_id} belongs to another account.")
        position = self.recorder.position_of(record_id, 1)  # type: ignore[attr-defined]
        return Receipt(as_record(original, actor), position, replayed=True)

    # --- reading and lifecycle steps --------------------------------------------------------

    def get_record(self, actor: Actor, kind: str, record_id: UUID, version: int | None = None) -> dict[str, Any]:
        """A record (optionally as it was at a version) if the actor may see its committee."""
        actor.check_permission("record:read")
        aggregate = self._load(kind, record_id, version)
        check_scope(actor, aggregate)
        return as_record(aggregate, actor)

    def act(
        self,
        actor: Actor,
        kind: str,
        record_id: UUID,
        action: str,
        expected_version: int,
        params: dict[str, Any],
        context: Context,
    ) -> Receipt:
        """One lifecycle step on a record, against the version the caller last saw."""
        try:
            permission = ACTIONS[kind][action]
        except KeyError:
            raise NotFoundError(f"A {kind} has no action '{action}'.") from None
        actor.check_permission(permission)
        aggregate = self._load(kind, record_id)
        check_scope(actor, aggregate)
        aggregate.check_version(expected_version)
        getattr(aggregate, action)(**params, context=context.as_event_data())
        try:
            recordings = self.save(aggregate)
        except IntegrityError:
            # Someone saved between our load and our save: report their change, not ours.
            current = self._load(kind, record_id)
            current.check_version(expected_version)
            raise
        return Receipt(as_record(aggregate, actor), recordings[-1].notification.id)

    def _load(self, kind: str, record_id: UUID, version: int | None = None) -> Any:
        cls = KINDS[kind]
        try:
            aggregate = self.repository.get(record_id, version=version)
        except AggregateNotFoundError:
            raise NotFoundError(f"No {kind} {record_id}.") from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"No {kind} {record_id}.")
        if version is not None and aggregate.version != version:
            # The store answers a version past the end with the latest one; that is not what was asked.
            raise NotFoundError(f"The {kind} {record_id} has no version {version}.")
        return aggregate
