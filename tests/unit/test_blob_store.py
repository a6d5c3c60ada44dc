"""The filesystem blob store and the content sniffing, without Flask."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from server.attachments.media import sniff_media_type
from server.attachments.store import BlobNotFoundError, FileBlobStore

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 32


def test_bytes_are_stored_under_their_sha256_split_after_two_hex_digits(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)

    sha256 = store.put(JPEG)

    assert sha256 == hashlib.sha256(JPEG).hexdigest()
    assert (tmp_path / sha256[:2] / sha256[2:]).read_bytes() == JPEG
    assert store.get(sha256) == JPEG
    assert store.exists(sha256)


def test_storing_the_same_bytes_again_writes_nothing_new(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    sha256 = store.put(JPEG)
    stored = tmp_path / sha256[:2] / sha256[2:]
    first_inode = stored.stat().st_ino

    assert store.put(JPEG) == sha256

    assert stored.stat().st_ino == first_inode
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [sha256[2:]], "no temporary files are left behind"


@pytest.mark.parametrize("name", ["0" * 64, "../../etc/passwd", "AB" * 32, ""])
def test_unknown_or_malformed_names_are_simply_not_found(tmp_path: Path, name: str) -> None:
    store = FileBlobStore(tmp_path)

    assert not store.exists(name)
    with pytest.raises(BlobNotFoundError):
        store.get(name)


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (JPEG, "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"<html><script>alert(1)</script>", None),
        (b"GIF89a", None),
        (b"\x89PNG\r\n", None),
        (b"", None),
    ],
    ids=["jpeg", "png", "pdf", "html", "gif", "truncated png signature", "empty"],
)
def test_the_media_type_comes_from_the_first_bytes(content: bytes, media_type: str | None) -> None:
    assert sniff_media_type(content) == media_type
