"""Core's pages, contributed through ``register_blueprints`` like any plugin's."""
from __future__ import annotations

from core.plugin_api import hookimpl


@hookimpl
def register_blueprints():
    """Core's blueprints (mounted at their own prefixes; only plugins are put under ``/i/``)."""
    from core.web import admin, auth, compliance, federation, home

    return [auth.bp, home.bp, admin.bp, compliance.bp, federation.bp]
