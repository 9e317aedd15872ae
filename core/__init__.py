"""Microfin CRM: the Flask application of Belgium's microfinance institutions.

``create_app`` is the only entry point; nothing happens at import time.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, plugins, tenancy, accounts, web, CLI."""
    instance_path = os.environ.get("MICROFIN_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    _configure_settings(app, dict(config or {}))
    _configure_extensions(app)
    _configure_plugins(app)
    _configure_web(app)
    return app


def _configure_settings(app: Flask, overrides: dict) -> None:
    from pathlib import Path

    from core.config import settings_from_env

    app.config.update(settings_from_env(Path(app.instance_path), overrides))
    _configure_logging()
    if app.config["MICROFIN_PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)


def _configure_logging() -> None:
    """Log lines at ``MICROFIN_LOG_LEVEL`` (default WARNING) to stderr; one JSON object per line
    (time, level, logger, message, exception) when ``MICROFIN_LOG_FORMAT=json``, for a log
    collector. Only the first app of a process sets this up (``basicConfig`` leaves a root logger
    that has handlers alone)."""
    handler = logging.StreamHandler()
    if os.environ.get("MICROFIN_LOG_FORMAT", "text").lower() == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"asctime": "time", "levelname": "level",
                                                          "name": "logger"}))
    logging.basicConfig(level=os.environ.get("MICROFIN_LOG_LEVEL", "WARNING"), handlers=[handler])


def _configure_extensions(app: Flask) -> None:
    from core import models  # noqa: F401  (every table known before migrations run)
    from core import tenancy
    from core.extensions import csrf, db, htmx, limiter, migrate
    from core.services import audit, snapshots

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    from core.request_limits import storage_uri

    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(str(app.config.get("RATELIMIT_STORAGE_URI", "memory://")))
    limiter.init_app(app)
    tenancy.install()
    audit.install()
    snapshots.install()
    from core import database_setup

    database_setup.install(app)


def _configure_plugins(app: Flask) -> None:
    from core import plugin_loader

    plugin_loader.init_app(app)


def _configure_web(app: Flask) -> None:
    from core import web

    web.init_app(app)
