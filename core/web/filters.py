"""Jinja filters and helpers: dates in Brussels time, translated labels for codes."""
from __future__ import annotations

from flask import Flask
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("administrator"),
    "officer": _l("loan officer"),
    "coach": _l("coach"),
    "auditor": _l("federation auditor"),
    "operator": _l("operator"),
}
REGION_LABELS = {
    "brussels": _l("Brussels-Capital"),
    "wallonia": _l("Wallonia"),
    "flanders": _l("Flanders"),
}
ACTION_LABELS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "reveal": _l("revealed"),
    "sign-in": _l("signed in"),
    "download": _l("downloaded"),
}


def _label(table: dict, code) -> str:
    return str(table.get(str(code), code))


def plugin_institution(slug: str):
    from core.plugins import state

    return state().institution(slug)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = lambda value: format_datetime(value, "short") if value else ""
    app.jinja_env.filters["date"] = lambda value: format_date(value, "medium") if value else ""
    app.jinja_env.filters["reject_key"] = lambda mapping, key: {k: v for k, v in mapping.items() if k != key}
    app.jinja_env.globals.update(
        role_label=lambda code: _label(ROLE_LABELS, code),
        region_label=lambda code: _label(REGION_LABELS, code),
        action_label=lambda code: _label(ACTION_LABELS, code),
        plugin_institution=plugin_institution,
    )
