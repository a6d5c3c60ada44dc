"""Query parameters: a request without any gets the schema's defaults, remembered once per process."""

from __future__ import annotations

import pytest
from flask import Flask
from marshmallow import Schema, ValidationError, fields

from server.api.audit import AuditQuerySchema, EventQuerySchema
from server.api.readside import defaults, parse
from server.api.registers import ComplaintQuerySchema, CorrectionQuerySchema
from server.api.status import CommitteeQuerySchema, StatusQuerySchema

QUERY_SCHEMAS = (
    StatusQuerySchema, CommitteeQuerySchema, AuditQuerySchema, EventQuerySchema, ComplaintQuerySchema,
    CorrectionQuerySchema,
)
app = Flask(__name__)


@pytest.mark.parametrize("schema", QUERY_SCHEMAS, ids=lambda s: s.__name__)
def test_no_query_parameters_load_as_marshmallow_would(schema: type[Schema]) -> None:
    with app.test_request_context("/"):
        assert parse(schema) == schema().load({})


def test_each_answer_is_a_copy_so_a_caller_cannot_change_the_next_one() -> None:
    with app.test_request_context("/"):
        first = parse(StatusQuerySchema)
        first["level"] = "city"
        first["committee"] = "19.71"
        assert parse(StatusQuerySchema) == {"level": "pps", "limit": 100}


def test_given_parameters_are_still_validated() -> None:
    with app.test_request_context("/?limit=0"), pytest.raises(ValidationError):
        parse(StatusQuerySchema)
    with app.test_request_context("/?level=city&limit=5"):
        assert parse(StatusQuerySchema) == {"level": "city", "limit": 5}


class _CallableDefault(Schema):
    stamp = fields.String(load_default=lambda: "changes")


class _ListDefault(Schema):
    tags = fields.List(fields.String(), load_default=["shared"])


@pytest.mark.parametrize("schema", (_CallableDefault, _ListDefault), ids=lambda s: s.__name__)
def test_a_schema_whose_defaults_are_not_constants_is_refused(schema: type[Schema]) -> None:
    with pytest.raises(TypeError, match="constants"):
        defaults(schema)
