"""Attachments: upload bytes (content-addressed, idempotent), read them back, attach them to records.

Uploading and attaching are two steps so the PWA's offline outbox can resend either safely: a PUT of the
same bytes stores nothing new, and attaching a hash the record already has answers the original receipt.
"""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import NotFound

from server.api.http import doc, json_body, load, request_context
from server.api.reports import receipt_response
from server.attachments.media import sniff_media_type
from server.attachments.service import accept_upload, blob_store, check_hash, describe_blob
from server.attachments.store import SHA256_HEX, BlobNotFoundError
from server.auth import current_actor, requires
from server.domain.attachment import MAX_ATTACHMENT_BYTES
from server.domain.records import REPORT_KINDS
from server.schemas import ReceiptSchema
from server.schemas_evidence import AttachSchema, BlobSchema
from server.services import pantau

bp = Blueprint("attachments", __name__, url_prefix="/api/v1")

UPLOAD_ERRORS = (400, 401, 403, 413, 415, 422)
PLURAL = {"visit": "visits", "complaint": "complaints", "correction": "corrections"}
BINARY = "application/octet-stream"


def read_upload() -> bytes:
    """The raw body, allowed up to 5 MB here although every other route stops at the app-wide 1 MB."""
    # One byte over the limit so an oversized body is refused as 413, not silently truncated.
    request.max_content_length = MAX_ATTACHMENT_BYTES + 1
    return request.get_data(cache=False)


def blob_response(blob: dict[str, object], new: bool) -> Response:
    response = jsonify(blob)
    response.status_code = 201 if new else 200
    response.headers["Location"] = f"/api/v1/attachments/{blob['sha256']}"
    return response


@bp.put("/attachments/<sha256>")
@requires("attachment:upload")
@doc(
    "Upload a JPEG, PNG or PDF (≤ 5 MB) as raw bytes under its SHA-256; repeating it is safe",
    response=BlobSchema,
    status=201,
    errors=UPLOAD_ERRORS,
)
def put_attachment(sha256: str) -> Response:
    check_hash(sha256)
    blob, new = accept_upload(blob_store(), read_upload(), claimed_sha256=sha256)
    return blob_response(blob, new)


@bp.post("/attachments")
@requires("attachment:upload")
@doc(
    "Upload a JPEG, PNG or PDF (≤ 5 MB) as raw bytes; answers its SHA-256",
    response=BlobSchema,
    status=201,
    errors=UPLOAD_ERRORS,
)
def post_attachment() -> Response:
    blob, new = accept_upload(blob_store(), read_upload())
    return blob_response(blob, new)


@bp.get("/attachments/<sha256>")
@requires("attachment:read")
@doc("Download an attachment by its SHA-256", errors=(401, 403, 404), content=BINARY)
def get_attachment(sha256: str) -> Response:
    if not SHA256_HEX.match(sha256):
        raise NotFound("No such attachment.")
    try:
        data = blob_store().get(sha256)
    except BlobNotFoundError:
        raise NotFound("No such attachment.") from None
    response = Response(data, mimetype=sniff_media_type(data) or BINARY)
    # Download, never render in our origin: a crafted PDF then cannot run in the API's context.
    response.headers["Content-Disposition"] = f'attachment; filename="{sha256[:16]}"'
    response.headers["ETag"] = f'"{sha256}"'
    return response


def attach(kind: str, record_id: UUID) -> Response:
    actor = current_actor()
    loaded = load(AttachSchema, json_body())
    blob = describe_blob(blob_store(), loaded["sha256"])
    context = request_context(actor, loaded)
    receipt = pantau().attach_file(actor, kind, record_id, blob, loaded["expected_version"], context)
    return receipt_response(receipt, 201)


def register_attach_routes() -> None:
    """POST /visits|complaints|corrections/{id}/attachments."""
    for kind in REPORT_KINDS:

        def view(record_id: UUID, kind: str = kind) -> Response:
            return attach(kind, record_id)

        view.__name__ = f"attach_to_{kind}"
        documented = doc(
            f"Attach an uploaded file to a {kind}",
            body=AttachSchema,
            response=ReceiptSchema,
            status=201,
            errors=(400, 401, 403, 404, 409, 413, 415, 422),
        )(view)
        bp.add_url_rule(
            f"/{PLURAL[kind]}/<uuid:record_id>/attachments",
            view_func=requires("attachment:add")(documented),
            methods=["POST"],
        )


register_attach_routes()
