"""Named domain errors. The HTTP layer maps each family to one status code in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses."""


class NotFoundError(DomainError):
    """The record, committee or account does not exist."""


class PermissionDeniedError(DomainError):
    """The actor's role or committee scope does not allow this."""


class InvalidInputError(DomainError):
    """Input the schema accepted but the domain cannot (unknown checklist item, bad NIK)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConflictError(DomainError):
    """The request conflicts with the current state of the record."""


class TransitionNotAllowedError(ConflictError):
    """The lifecycle does not allow this step from the record's current status."""


class SubmissionConflictError(ConflictError):
    """A submission id was reused with a different body."""


class AlreadyExistsError(ConflictError):
    """A record with this natural key already exists."""


class StaleVersionError(ConflictError):
    """The caller's expected version is not the record's current version."""

    def __init__(self, expected: int, actual: int, changed_by: str | None, changed_at: str | None) -> None:
        who = changed_by or "unknown"
        super().__init__(
            f"Record is at version {actual}, not {expected}: last changed by {who} at {changed_at}."
        )
        self.expected = expected
        self.actual = actual
        self.changed_by = changed_by
        self.changed_at = changed_at
