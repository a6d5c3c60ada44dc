"""The server's VAPID key: from configuration, else generated once into the instance folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from py_vapid.utils import b64urlencode

from server.config import Settings
from server.secret_files import create_secret_file

KEY_FILE = "vapid_private_key.pem"


@dataclass(frozen=True)
class VapidKey:
    """The signing key, its public half as browsers want it (applicationServerKey), and the subject."""

    vapid: Vapid02
    public_key: str
    subject: str

    def claims(self) -> dict[str, str | int]:
        """A fresh claims dict per send: pywebpush writes `aud` and `exp` into the one it is given."""
        return {"sub": self.subject}


def load_vapid_key(settings: Settings) -> VapidKey:
    """The configured key (PEM or base64url raw), else the instance folder's, created on first use."""
    if settings.vapid_private_key:
        text = settings.vapid_private_key.strip()
        vapid = Vapid02.from_pem(text.encode()) if text.startswith("-----BEGIN") else Vapid02.from_string(text)
    else:
        vapid = Vapid02.from_pem(_instance_key(settings.instance_path))
    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKey(vapid=vapid, public_key=b64urlencode(point), subject=settings.vapid_subject)


def _instance_key(folder: Path) -> bytes:
    """Read the key file, or write one atomically: web workers and the dispatcher may start together."""
    path = folder / KEY_FILE
    if not path.exists():
        fresh = Vapid02()
        fresh.generate_keys()
        create_secret_file(path, fresh.private_pem())
    return path.read_bytes()
