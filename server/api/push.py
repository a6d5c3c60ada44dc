"""Web Push: the server's public key, and each account subscribing or unsubscribing its browsers."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import Schema, fields, validate

from server.api.http import doc, json_body, load
from server.auth import current_actor, public, requires
from server.per_process import per_process
from server.push.vapid import load_vapid_key
from server.services import pantau

bp = Blueprint("push", __name__, url_prefix="/api/v1/push")


class PushKeysSchema(Schema):
    p256dh = fields.String(required=True, validate=validate.Length(max=200))
    auth = fields.String(required=True, validate=validate.Length(max=100))


class PushSubscriptionSchema(Schema):
    """What PushSubscription.toJSON() gives in the browser (expirationTime is accepted and ignored)."""

    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    keys = fields.Nested(PushKeysSchema, required=True)
    expirationTime = fields.Raw(load_default=None, allow_none=True)  # the browser's own (camelCase) name


class PushUnsubscribeSchema(Schema):
    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=2048))


class VapidPublicKeySchema(Schema):
    public_key = fields.String(metadata={"description": "base64url uncompressed P-256 point (applicationServerKey)"})


class PushSubscribedSchema(Schema):
    subscription_id = fields.UUID()


def _vapid_public_key() -> str:
    # Loaded once per process: the key file is created on first use and never changes afterwards.
    return per_process("pantau.vapid", load_vapid_key).public_key


@bp.get("/vapid-public-key")
@public
@doc("The server's VAPID public key, for pushManager.subscribe({applicationServerKey})", response=VapidPublicKeySchema)
def vapid_public_key() -> Response:
    response = jsonify(public_key=_vapid_public_key())
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/subscriptions")
@requires("push:subscribe")
@doc("Subscribe this browser to pushes for the signed-in account", body=PushSubscriptionSchema,
     response=PushSubscribedSchema, status=201, errors=(400, 401, 403, 413, 415, 422))
def subscribe() -> Response:
    loaded = load(PushSubscriptionSchema, json_body())
    # Plain http only to a push service on this machine, and only when testing or explicitly allowed.
    allow_local = bool(current_app.config.get("TESTING")) or current_app.extensions["pantau.settings"].push_allow_local
    keys = loaded["keys"]
    actor = current_actor()
    subscription = pantau().subscribe_push(actor, loaded["endpoint"], keys["p256dh"], keys["auth"], allow_local)
    response = jsonify(subscription_id=str(subscription))
    response.status_code = 201
    return response


@bp.delete("/subscriptions")
@requires("push:subscribe")
@doc("Unsubscribe one of the signed-in account's browsers (by endpoint)", body=PushUnsubscribeSchema, status=204,
     errors=(400, 401, 403, 404, 413, 415, 422))
def unsubscribe() -> Response:
    loaded = load(PushUnsubscribeSchema, json_body())
    pantau().unsubscribe_push(current_actor(), loaded["endpoint"])
    return Response(status=204)
