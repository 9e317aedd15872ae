"""One place that decides between a full page and an htmx fragment."""
from __future__ import annotations

from flask import make_response, render_template
from flask_htmx import HTMX

from core.extensions import htmx


def is_partial() -> bool:
    """An htmx request that wants a fragment: not boosted and not a history restore."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, *, fragment: str | None = None, status: int = 200, **context):
    """Render ``template``, or ``fragment`` for a partial htmx request; always ``Vary: HX-Request``."""
    name = fragment if fragment and is_partial() else template
    response = make_response(render_template(name, **context), status)
    response.vary.add("HX-Request")
    return response


__all__ = ["HTMX", "is_partial", "render"]
