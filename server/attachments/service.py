"""Accepting uploads and describing stored blobs, for the HTTP layer (the domain only sees hash/size/type)."""

from __future__ import annotations

import hashlib
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from server.attachments.media import sniff_media_type
from server.attachments.store import SHA256_HEX, BlobNotFoundError, BlobStore, FileBlobStore
from server.domain.attachment import MAX_ATTACHMENT_BYTES
from server.domain.errors import InvalidInputError
from server.per_process import per_process


def blob_store() -> BlobStore:
    """This app's store: files under the instance folder unless a test or deployment put another in place."""
    return per_process("pantau.blobs", lambda settings: FileBlobStore(settings.instance_path / "attachments"))


def check_hash(sha256: str, field: str = "sha256") -> str:
    """A SHA-256 as the store names it: 64 lowercase hex digits."""
    if not SHA256_HEX.match(sha256):
        raise InvalidInputError("sha256 must be 64 lowercase hex digits.", field)
    return sha256


def accept_upload(store: BlobStore, data: bytes, claimed_sha256: str | None = None) -> tuple[dict[str, Any], bool]:
    """Check size, type (by content) and claimed hash, then store; also says whether the bytes are new."""
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise RequestEntityTooLarge(f"An attachment is at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnsupportedMediaType("Attach a JPEG, PNG or PDF file; the content is checked, not the name.")
    sha256 = hashlib.sha256(data).hexdigest()
    if claimed_sha256 is not None and sha256 != claimed_sha256:
        raise InvalidInputError(f"The body's SHA-256 is {sha256}, not the {claimed_sha256} in the URL.", "sha256")
    new = not store.exists(sha256)
    if new:
        store.put(data)
    return {"sha256": sha256, "size": len(data), "media_type": media_type}, new


def describe_blob(store: BlobStore, sha256: str) -> dict[str, Any]:
    """Hash, size and media type of a stored blob; 422 if it was never uploaded."""
    check_hash(sha256)
    try:
        data = store.get(sha256)
    except BlobNotFoundError:
        raise InvalidInputError(f"No attachment {sha256} is stored; upload it first.", "sha256") from None
    media_type = sniff_media_type(data)
    if media_type is None:  # pragma: no cover - only typed content is ever stored
        raise InvalidInputError(f"Attachment {sha256} is not a JPEG, PNG or PDF.", "sha256")
    return {"sha256": sha256, "size": len(data), "media_type": media_type}
