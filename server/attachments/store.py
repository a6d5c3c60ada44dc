"""Content-addressed blob storage: a protocol, and the filesystem implementation used by default.

An object store (S3, MinIO) can replace the filesystem by implementing `BlobStore`; nothing else changes,
because callers only ever name content by its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFoundError(LookupError):
    """No content with this hash is stored."""


class BlobStore(Protocol):
    """Stores bytes under their SHA-256; storing the same bytes twice is the same as storing them once."""

    def put(self, data: bytes) -> str:
        """Store `data`; return its SHA-256 as 64 lowercase hex digits."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under `sha256`, or BlobNotFoundError."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether bytes with this hash are stored."""
        ...


class FileBlobStore:
    """Blobs as files under root/ab/cdef... (first two hex digits as a directory, as git does)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        # Only ever a validated hash reaches the filesystem: no path traversal through a crafted name.
        if not SHA256_HEX.match(sha256):
            raise BlobNotFoundError(sha256)
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_of(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, flush to disk, then rename: readers see no file or the whole file, and a
        # crash leaves at most a stray temporary file, never a truncated blob under a valid hash.
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self.path_of(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(sha256) from None

    def exists(self, sha256: str) -> bool:
        try:
            return self.path_of(sha256).is_file()
        except BlobNotFoundError:
            return False
