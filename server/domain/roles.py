"""Roles, their permissions, and committee scope: who may do what, where."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import InvalidInputError, PermissionDeniedError

ROLES = ("pps_officer", "ppk_officer", "kpu_admin", "auditor", "legal")
SCOPED_ROLES = {"pps_officer": "PPS", "ppk_officer": "PPK"}

# Every permission a route can require. Readers see everything; nobody else writes what they do not own.
PERMISSIONS: dict[str, frozenset[str]] = {
    "report:create": frozenset({"pps_officer", "ppk_officer", "kpu_admin"}),
    "record:read": frozenset(ROLES),
    "visit:amend": frozenset({"pps_officer", "ppk_officer", "kpu_admin"}),
    "complaint:handle": frozenset({"ppk_officer", "kpu_admin"}),
    "correction:verify": frozenset({"pps_officer", "ppk_officer", "kpu_admin"}),
    "correction:decide": frozenset({"ppk_officer", "kpu_admin"}),
    "committee:read": frozenset(ROLES),
    "status:read": frozenset(ROLES),
    "audit:read": frozenset({"auditor", "legal", "kpu_admin"}),
    "events:read": frozenset({"auditor"}),
    "ledger:read": frozenset({"auditor", "legal", "kpu_admin"}),
    "accounts:admin": frozenset({"kpu_admin"}),
    "committees:admin": frozenset({"kpu_admin"}),
    "session:own": frozenset(ROLES),
    # Disputes are legal's work; auditors and KPU administrators follow them.
    "dispute:write": frozenset({"legal"}),
    "dispute:read": frozenset({"legal", "auditor", "kpu_admin"}),
    # Case files hold whole NIKs and leave the server: only legal exports over HTTP (the CLI can pick a role).
    "dispute:export": frozenset({"legal"}),
    # Uploading stores bytes only; attaching them to a record is the step that needs the record's scope.
    "attachment:upload": frozenset({"pps_officer", "ppk_officer", "kpu_admin", "legal"}),
    "attachment:add": frozenset({"pps_officer", "ppk_officer", "kpu_admin"}),
    # Anyone who may read records; a blob is addressed by its SHA-256, so a caller must already know the hash.
    "attachment:read": frozenset(ROLES),
    # Any signed-in account may ask to be woken on its own phone; what it is told follows its role.
    "push:subscribe": frozenset(ROLES),
}
UNMASKED_NIK_ROLES = frozenset({"kpu_admin", "legal"})
CITYWIDE_ROLES = frozenset({"kpu_admin", "auditor", "legal"})


@dataclass(frozen=True)
class Actor:
    """The signed-in account as it stood when the request arrived."""

    account_id: str
    username: str
    role: str
    scope: str | None
    language: str = "id"

    def check_permission(self, permission: str) -> None:
        """Refuse an action this role never has."""
        if self.role not in PERMISSIONS[permission]:
            raise PermissionDeniedError(f"Role {self.role} may not {permission.replace(':', ' ')}.")

    def may_see(self, code: str, parent: str | None) -> bool:
        """City-wide roles see all; a PPK officer its PPK and PPS; a PPS officer its PPS."""
        if self.role in CITYWIDE_ROLES:
            return True
        return self.scope is not None and (code == self.scope or parent == self.scope)

    def check_committee(self, code: str, parent: str | None) -> None:
        """Refuse acting on a committee outside the actor's scope."""
        if not self.may_see(code, parent):
            raise PermissionDeniedError(f"Committee {code} is outside the scope of {self.username}.")

    @property
    def sees_full_nik(self) -> bool:
        return self.role in UNMASKED_NIK_ROLES


def check_grant(role: str, committee_kind: str | None) -> None:
    """A PPS officer is scoped to a PPS, a PPK officer to a PPK, other roles to the whole city."""
    if role not in ROLES:
        raise InvalidInputError(f"Unknown role '{role}'; one of {', '.join(ROLES)}.", "role")
    wanted = SCOPED_ROLES.get(role)
    if wanted != committee_kind:
        need = f"a {wanted} committee" if wanted else "no committee"
        raise InvalidInputError(f"Role {role} needs {need}.", "committee")
