"""Key files created once, safely, even when several processes start at the same moment."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def create_secret_file(path: Path, data: bytes) -> None:
    """Write a 0600 file atomically; if another process created it first, keep theirs.

    mkstemp creates the temporary file with mode 0600, so the secret is never readable by others, and
    link() never replaces an existing file, so concurrent starters end up sharing one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
