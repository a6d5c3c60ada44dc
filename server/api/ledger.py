"""The verifiable log: signed checkpoints and the public key for anyone, Merkle proofs for the record readers.

Checkpoints and the verifier key are public on purpose: they reveal only a count and a hash, and whoever
holds an older checkpoint must be able to fetch a newer one to check the log only grew. Proofs carry leaf
bytes (aggregate ids, event types, field commitments), so they need `ledger:read`.
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, fields, validate

from server.api.http import doc, load
from server.auth import public, requires
from server.ledger.service import Ledger, open_ledger
from server.per_process import per_process
from server.services import pantau

bp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger")
# Both engines store positions and sizes as signed 64-bit integers; larger values must be a 422, not a 500.
_SIZE = validate.Range(1, 2**63 - 1)


class InclusionQuerySchema(Schema):
    position = fields.Integer(required=True, validate=_SIZE, metadata={"description": "The event's log position"})
    tree_size = fields.Integer(validate=_SIZE, metadata={"description": "Default: the latest checkpoint's size"})


class ConsistencyQuerySchema(Schema):
    first = fields.Integer(required=True, validate=_SIZE)
    second = fields.Integer(required=True, validate=_SIZE)


class LedgerCheckpointSchema(Schema):
    origin = fields.String(required=True)
    tree_size = fields.Integer(required=True)
    root_hash = fields.String(required=True, metadata={"description": "base64"})
    issued_at = fields.AwareDateTime(required=True)
    note = fields.String(required=True, metadata={"description": "The C2SP signed note"})
    verifier_key = fields.String(required=True)


class InclusionProofSchema(Schema):
    position = fields.Integer(required=True)
    leaf_index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    leaf = fields.String(required=True, metadata={"description": "base64 of the leaf bytes (RFC 8785 JSON)"})
    leaf_hash = fields.String(required=True, metadata={"description": "base64 SHA-256(0x00 || leaf)"})
    proof = fields.List(fields.String(), required=True, metadata={"description": "base64 hashes, leaf to root"})


class ConsistencyProofSchema(Schema):
    first = fields.Integer(required=True)
    second = fields.Integer(required=True)
    proof = fields.List(fields.String(), required=True)


def ledger() -> Ledger:
    """This process's ledger for the current Flask app (read side only; the worker follows the log)."""
    return per_process("pantau.ledger", lambda settings: open_ledger(settings, pantau()))


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/plain", "application/json"]) == "application/json"


def _text(body: str) -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/checkpoint")
@public
@doc("The latest signed checkpoint (C2SP signed note; JSON with Accept: application/json)", content="text/plain",
     errors=(404,))
def checkpoint() -> Response:
    opened = ledger()
    latest = opened.proofs.latest_checkpoint()
    if not _wants_json():
        return _text(latest.note)
    return jsonify(
        origin=opened.origin,
        tree_size=latest.tree_size,
        root_hash=_b64(latest.root_hash),
        issued_at=latest.issued_at.isoformat(),
        note=latest.note,
        verifier_key=opened.verifier_key,
    )


@bp.get("/public-key")
@public
@doc("The checkpoint verifier key (c2sp.org/signed-note vkey); JSON with Accept: application/json",
     content="text/plain")
def public_key() -> Response:
    opened = ledger()
    if _wants_json():
        return jsonify(origin=opened.origin, verifier_key=opened.verifier_key)
    return _text(opened.verifier_key + "\n")


@bp.get("/proof/inclusion")
@requires("ledger:read")
@doc("RFC 9162 inclusion proof of one event", query=InclusionQuerySchema, response=InclusionProofSchema,
     errors=(401, 403, 404, 409, 422))
def inclusion() -> Response:
    query = load(InclusionQuerySchema, request.args.to_dict())
    found = ledger().proofs.inclusion(query["position"], query.get("tree_size"))
    return jsonify(
        position=found.position,
        leaf_index=found.leaf_index,
        tree_size=found.tree_size,
        leaf=_b64(found.leaf),
        leaf_hash=_b64(found.leaf_hash),
        proof=[_b64(node) for node in found.proof],
    )


@bp.get("/proof/consistency")
@requires("ledger:read")
@doc("RFC 9162 consistency proof between two tree sizes", query=ConsistencyQuerySchema,
     response=ConsistencyProofSchema, errors=(401, 403, 422))
def consistency() -> Response:
    query = load(ConsistencyQuerySchema, request.args.to_dict())
    proof = ledger().proofs.consistency(query["first"], query["second"])
    return jsonify(first=query["first"], second=query["second"], proof=[_b64(node) for node in proof])
