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

    from server.api import attachments, casefile, disputes

    # Before the web blueprint, whose catch-all GET route is registered last.
    for blueprint in (disputes.bp, casefile.bp, attachments.bp):
        app.register_blueprint(blueprint)

    from server.api import accounts, audit, committees, ledger, meta, registers, reports, session, status
    from server.web import bp as web_bp

    blueprints = (meta.bp, session.bp, reports.bp, committees.bp, accounts.bp, ledger.bp)
    for blueprint in (*blueprints, status.bp, registers.bp, audit.bp, web_bp):
        app.register_blueprint(blueprint)
    from server.api import push

    app.register_blueprint(push.bp)

    from server.security_headers import add_security_headers

    app.after_request(add_security_headers)
    logging.getLogger("server").setLevel(logging.INFO)
    return app
