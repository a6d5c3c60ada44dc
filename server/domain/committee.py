"""Committees: one PPK per kecamatan, one PPS per kelurahan, identified by official area codes."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.base import PantauAggregate, derived_id
from server.domain.errors import InvalidInputError

# ASCII digits only, and no trailing newline: an area code is an identifier, not a number.
PPK_CODE = re.compile(r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\Z")
PPS_CODE = re.compile(r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}\Z")


def committee_id(code: str) -> UUID:
    """The aggregate id of the committee for an area code."""
    return derived_id("committee", code)


def kind_of(code: str) -> str:
    """'PPK' for a kecamatan code, 'PPS' for a kelurahan code; anything else is invalid."""
    if PPK_CODE.match(code):
        return "PPK"
    if PPS_CODE.match(code):
        return "PPS"
    raise InvalidInputError(f"'{code}' is not a kecamatan (NN.NN.NN) or kelurahan (NN.NN.NN.NNNN) code.", "code")


def parent_code(code: str) -> str | None:
    """The PPK above a PPS (its kecamatan code); None for a PPK."""
    return code.rsplit(".", 1)[0] if kind_of(code) == "PPS" else None


class Committee(PantauAggregate):
    """A PPK or PPS and its members over time."""

    class Registered(PantauAggregate.Created):
        code: str
        kind: str
        name: str
        parent: str | None

    @event(Registered)
    def __init__(self, code: str, kind: str, name: str, parent: str | None, context: dict[str, Any]) -> None:
        self.code = code
        self.kind = kind
        self.name = name
        self.parent = parent
        self.members: dict[str, dict[str, str]] = {}

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return committee_id(code)

    class MemberAppointed(PantauAggregate.Event):
        member_id: str
        name: str
        position: str

    @event(MemberAppointed)
    def appoint_member(self, member_id: str, name: str, position: str, context: dict[str, Any]) -> None:
        self.members[member_id] = {"name": name, "position": position}

    class MemberRemoved(PantauAggregate.Event):
        member_id: str
        reason: str

    @event(MemberRemoved)
    def remove_member(self, member_id: str, reason: str, context: dict[str, Any]) -> None:
        self.members.pop(member_id, None)
