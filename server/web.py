"""The phone app's static files, served at the root so the service worker controls the whole app."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory
from werkzeug.routing import PathConverter

from server.api.http import doc
from server.auth import public

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}



class AppPathConverter(PathConverter):
    """Any path outside /api/: an unknown API URL is then a 404, not a 405 from this GET-only catch-all."""

    regex = r"(?!api/)[^/].*?"


bp = Blueprint("web", __name__)
# Runs before the routes below are added, which need the converter.
bp.record_once(lambda state: state.app.url_map.converters.setdefault("app_path", AppPathConverter))


def _send(name: str) -> Response:
    try:
        path = (PWA_DIR / name).resolve()
        servable = PWA_DIR in path.parents and path.is_file() and path.suffix in CONTENT_TYPES
    except (OSError, ValueError):  # a NUL byte or a name longer than the file system allows
        servable = False
    if not servable:
        abort(404)
    response = send_from_directory(PWA_DIR, name, mimetype=CONTENT_TYPES[path.suffix])
    if name == "sw.js":
        # The browser must always see a new service worker at once.
        response.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
@public
@doc("The phone app (PWA) start page", content="text/html")
def index() -> Response:
    return _send("index.html")


@bp.get("/<app_path:name>")
@public
@doc("A file of the phone app (script, style, manifest, icon)", content="*/*", errors=(404,))
def static_file(name: str) -> Response:
    return _send(name)
