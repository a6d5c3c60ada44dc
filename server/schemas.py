"""Request and response bodies at the HTTP edge. Strict: numbers are numbers, booleans are booleans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.domain.checklist import CURRENT_CHECKLIST_VERSION
from server.domain.complaint import CATEGORIES, ESCALATION_TARGETS
from server.domain.correction import KINDS, TMS_REASONS
from server.domain.roles import ROLES

AREA_CODE = validate.Regexp(
    r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}(\.[0-9]{4})?\Z", error="Not an area code (NN.NN.NN or NN.NN.NN.NNNN)."
)
EARLIEST_DEVICE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# Phones drift; a day ahead is a wrong clock, not a report from the future.
DEVICE_CLOCK_TOLERANCE = timedelta(days=1)


class StrictFloat(fields.Float):
    """A JSON number only: "1.5" and true are refused rather than coerced."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Must be a number.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBool(fields.Boolean):
    """A JSON boolean only: "yes" and 1 are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


def text(max_length: int, min_length: int = 0, **kwargs: Any) -> fields.String:
    """A string without NUL bytes, within length bounds."""
    return fields.String(
        validate=[
            validate.Length(min=min_length, max=max_length),
            validate.Regexp(r"^[^\x00]*$", error="Must not contain NUL characters."),
        ],
        **kwargs,
    )


class LocationSchema(Schema):
    latitude = StrictFloat(required=True, validate=validate.Range(-90, 90))
    longitude = StrictFloat(required=True, validate=validate.Range(-180, 180))
    accuracy_m = StrictFloat(load_default=None, allow_none=True, validate=validate.Range(0, 100_000))


class DeviceContextSchema(Schema):
    """Fields every write may carry: the phone's clock and position."""

    device_time = fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "ISO 8601 with offset"}
    )
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)

    @validates_schema
    def check_device_time(self, data: dict[str, Any], **_: Any) -> None:
        device_time = data.get("device_time")
        if device_time is None:
            return
        if device_time < EARLIEST_DEVICE_TIME:
            raise ValidationError("Device time is before 2000; the phone's clock is wrong.", "device_time")
        if device_time > datetime.now(UTC) + DEVICE_CLOCK_TOLERANCE:
            raise ValidationError("Device time is more than a day ahead; the phone's clock is wrong.", "device_time")


class SubmissionSchema(DeviceContextSchema):
    id = fields.UUID(required=True, metadata={"description": "Client-generated UUID; resending it is safe"})
    committee = fields.String(required=True, validate=AREA_CODE)


class VisitSubmissionSchema(SubmissionSchema):
    checklist_version = fields.Integer(strict=True, required=True, validate=validate.Range(1, 10_000))
    checklist = fields.Dict(keys=text(64, 1), values=StrictBool(), required=True)
    findings = text(5000, load_default="")
    follow_ups = fields.List(text(500, 1), load_default=list, validate=validate.Length(max=50))


class ComplaintSubmissionSchema(SubmissionSchema):
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    description = text(5000, 1, required=True)
    complainant = text(200, load_default=None, allow_none=True)


class CorrectionSubmissionSchema(SubmissionSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    nik = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{16}$", error="NIK must be exactly 16 digits."),
        metadata={"description": "16-digit NIK; stored encrypted when a cipher key is set, shown masked"},
    )
    full_name = text(200, 1, required=True)
    tps = text(60, load_default=None, allow_none=True)
    target_tps = text(120, load_default=None, allow_none=True)
    tms_reason = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(TMS_REASONS))
    details = text(2000, load_default="")


class TransitionSchema(DeviceContextSchema):
    expected_version = fields.Integer(
        strict=True, validate=validate.Range(1, 2**31), metadata={"description": "Or send If-Match"}
    )


class NoteTransitionSchema(TransitionSchema):
    note = text(2000, load_default="")


class ReasonTransitionSchema(TransitionSchema):
    reason = text(2000, 1, required=True)


class EscalateSchema(ReasonTransitionSchema):
    target = fields.String(required=True, validate=validate.OneOf(ESCALATION_TARGETS))


class AmendVisitSchema(ReasonTransitionSchema):
    checklist = fields.Dict(keys=text(64, 1), values=StrictBool(), load_default=None, allow_none=True)
    findings = text(5000, load_default=None, allow_none=True)
    follow_ups = fields.List(text(500, 1), load_default=None, allow_none=True, validate=validate.Length(max=50))


class ResolveFollowUpSchema(TransitionSchema):
    index = fields.Integer(strict=True, required=True, validate=validate.Range(0, 1000))
    resolution = text(2000, 1, required=True)


class TokenRequestSchema(Schema):
    username = text(64, 1, required=True)
    password = fields.String(required=True, validate=validate.Length(1, 256), load_only=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True)
    username = fields.String()
    role = fields.String()
    committee = fields.String(allow_none=True)


class RecordSchema(Schema):
    """A visit, complaint or correction; kind-specific fields are documented per kind."""

    class Meta:
        unknown = "include"

    id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("visit", "complaint", "correction")))
    committee = fields.String(required=True)
    status = fields.String(required=True)
    version = fields.Integer(required=True)
    created_at = fields.String(required=True)
    modified_at = fields.String(required=True)
    last_changed_by = fields.String(allow_none=True)


class ReceiptSchema(Schema):
    record = fields.Nested(RecordSchema, required=True)
    position = fields.Integer(required=True, metadata={"description": "Log position of the event written"})


class CommitteeSchema(Schema):
    code = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("PPK", "PPS")))
    name = fields.String(required=True)
    parent = fields.String(allow_none=True)


class CommitteeListSchema(Schema):
    items = fields.List(fields.Nested(CommitteeSchema), required=True)


class ChecklistItemSchema(Schema):
    key = fields.String(required=True)
    label_id = fields.String(required=True)
    label_en = fields.String(required=True)


class ChecklistSchema(Schema):
    version = fields.Integer(required=True, metadata={"example": CURRENT_CHECKLIST_VERSION})
    items = fields.List(fields.Nested(ChecklistItemSchema), required=True)


class MeSchema(Schema):
    username = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    committee = fields.String(allow_none=True)
    language = fields.String()


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)
    last_position = fields.Integer(allow_none=True)


class RecordQuerySchema(Schema):
    version = fields.Integer(
        validate=validate.Range(1, 2**31), metadata={"description": "The record as it was at this version"}
    )


class ProblemSchema(Schema):
    """RFC 9457 problem details; a problem may carry extension members (RFC 9457 section 3.2)."""

    class Meta:
        unknown = "include"

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "Per-field messages (422)"})
    expected_version = fields.Integer(metadata={"description": "Stale version (409): the version the caller sent"})
    current_version = fields.Integer(metadata={"description": "Stale version (409): the record's version now"})
    changed_by = fields.String(allow_none=True, metadata={"description": "Stale version (409): who changed it last"})
    changed_at = fields.String(allow_none=True, metadata={"description": "Stale version (409): when"})


class AccountCreateSchema(Schema):
    username = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$", error="3-64 letters, digits, _ . or -.")
    )
    password = fields.String(required=True, load_only=True, validate=validate.Length(8, 256))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    committee = fields.String(load_default=None, allow_none=True, validate=AREA_CODE)
    language = fields.String(load_default="id", validate=validate.OneOf(("id", "en")))


class AccountSchema(Schema):
    username = fields.String(required=True)
    role = fields.String(allow_none=True)
    committee = fields.String(allow_none=True)
    locked = fields.Boolean(required=True)
    language = fields.String()
    version = fields.Integer()
    active_tokens = fields.Integer()


class GrantRoleSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    committee = fields.String(load_default=None, allow_none=True, validate=AREA_CODE)


class ReasonSchema(Schema):
    reason = text(2000, 1, required=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(1, 256))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(8, 256))


class MemberSchema(Schema):
    member_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    name = text(200, 1, required=True)
    position = text(100, 1, required=True, metadata={"description": "ketua, anggota, sekretaris, ..."})


class CommitteeMembersSchema(Schema):
    code = fields.String(required=True)
    members = fields.Dict(keys=fields.String(), values=fields.Dict())
    version = fields.Integer()
