"""Slow, salted password hashing (scrypt, as werkzeug does) with the standard library only."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

# scrypt cost: about 50 ms here, which makes guessing expensive and logging in cheap enough.
# PANTAU_PASSWORD_COST (log2 N) may lower it for test suites only; hashes record their own N.
N, R, P = 2 ** int(os.environ.get("PANTAU_PASSWORD_COST", "15")), 8, 1
MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    """A self-describing hash string: scrypt$N$r$p$salt$hash."""
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=N, r=R, p=P, maxmem=MAXMEM)
    return f"scrypt${N}${R}${P}${salt}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """Constant-time comparison against a stored hash."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=int(n), r=int(r), p=int(p), maxmem=MAXMEM)
    return hmac.compare_digest(digest.hex(), expected)
