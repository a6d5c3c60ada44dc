"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from server.config import load_settings
from server.problems import register_error_handlers


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app. The eventsourcing application itself is built lazily, per process."""
    config = dict(test_config or {})
    settings = config.pop("SETTINGS", None) or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path), static_folder=None)
    app.config.from_mapping(MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False)
    app.config.from_prefixed_env("PANTAU")
    app.config.update(config)
    app.extensions["pantau.settings"] = settings
    if settings.trusted_proxies:
        # Only for proxies we run: trusted blindly, X-Forwarded-For would let anyone pick the address the
        # login throttle counts, and X-Forwarded-Proto would switch HSTS on plain http.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    register_error_handlers(app)

    from server.api import (
        accounts,
        attachments,
        audit,
        casefile,
        committees,
        disputes,
        ledger,
        meta,
        push,
        registers,
        reports,
        session,
        status,
    )
    from server.web import bp as web_bp

    api = (meta, session, reports, committees, status, registers, audit, accounts, ledger, push, disputes)
    for module in (*api, casefile, attachments):
        app.register_blueprint(module.bp)
    # Last: the phone app's catch-all GET route must not shadow any API route.
    app.register_blueprint(web_bp)

    from server.security_headers import add_security_headers

    app.after_request(add_security_headers)
    logging.getLogger("server").setLevel(logging.INFO)
    return app
