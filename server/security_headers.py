"""Headers every response carries."""

from __future__ import annotations

from flask import Response, request

# No inline script or style anywhere: the PWA loads only its own files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", CSP),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def add_security_headers(response: Response) -> Response:
    """nosniff, no referrer leaks, no framing, strict CSP; HSTS only when served over TLS.

    A header the view set itself wins. The names present are read once: werkzeug's setdefault scans
    and lower-cases every header on each call, a cost every response paid five times."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    wanted = [*ALWAYS, HSTS] if request.is_secure else ALWAYS
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    if "cache-control" not in present and request.path.startswith("/api/"):
        headers.add("Cache-Control", "no-store")
    return response
