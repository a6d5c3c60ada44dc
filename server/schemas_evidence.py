"""Request and response bodies for disputes and attachments (kept apart from server/schemas.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.domain.attachment import MEDIA_TYPES
from server.domain.dispute import MAX_SUBJECTS, OUTCOMES, STATUSES, SUBJECT_KINDS
from server.schemas import DeviceContextSchema, TransitionSchema, text

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a SHA-256: 64 lowercase hex digits.")


class SubjectSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    id = fields.UUID(required=True)


class DisputeOpenSchema(DeviceContextSchema):
    id = fields.UUID(required=True, metadata={"description": "Client-generated UUID; resending it is safe"})
    title = text(200, 1, required=True)
    summary = text(10_000, load_default="")
    subjects = fields.List(
        fields.Nested(SubjectSchema),
        required=True,
        validate=validate.Length(1, MAX_SUBJECTS),
        metadata={"description": "The visits, complaints or corrections in dispute"},
    )


class DisputeNoteSchema(TransitionSchema):
    text = text(10_000, 1, required=True)


class DisputeEvidenceSchema(TransitionSchema):
    sha256 = fields.String(validate=SHA256, metadata={"description": "An uploaded attachment"})
    position = fields.Integer(
        strict=True, validate=validate.Range(1, 2**62), metadata={"description": "An event's log position"}
    )
    description = text(2000, load_default="")

    @validates_schema
    def check_one_kind(self, data: dict[str, Any], **_: Any) -> None:
        if ("sha256" in data) == ("position" in data):
            raise ValidationError("Name either an attachment (sha256) or an event (position).", "sha256")


class DisputeRulingSchema(TransitionSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    ruling = text(20_000, 1, required=True)


class AttachSchema(DeviceContextSchema):
    sha256 = fields.String(required=True, validate=SHA256, metadata={"description": "Upload the bytes first"})
    expected_version = fields.Integer(
        strict=True,
        validate=validate.Range(1, 2**31),
        load_default=None,
        metadata={"description": "Optional: attaching commutes with other changes, so offline resends omit it"},
    )


class BlobSchema(Schema):
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    media_type = fields.String(required=True, validate=validate.OneOf(MEDIA_TYPES))


class DisputeSchema(Schema):
    """A dispute with its whole timeline: notes, evidence, rulings and closures, each with who, when, version."""

    class Meta:
        unknown = "include"

    id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.Equal("dispute"))
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    version = fields.Integer(required=True)
    subjects = fields.List(fields.Nested(SubjectSchema), required=True)
    committees = fields.List(fields.String(), required=True)
    notes = fields.List(fields.Dict(), required=True)
    evidence = fields.List(fields.Dict(), required=True)
    rulings = fields.List(fields.Dict(), required=True)
    ruling = fields.Dict(allow_none=True)


class DisputeReceiptSchema(Schema):
    record = fields.Nested(DisputeSchema, required=True)
    position = fields.Integer(required=True, metadata={"description": "Log position of the event written"})
