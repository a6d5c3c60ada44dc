"""What a file is, judged by its first bytes: names and Content-Type headers are whatever a client says."""

from __future__ import annotations

# Magic numbers: JPEG's SOI marker and first marker byte, PNG's full 8-byte signature, PDF's header.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def sniff_media_type(data: bytes) -> str | None:
    """image/jpeg, image/png or application/pdf from the content's signature; None for anything else."""
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    return None
