"""The client timeline: entries gathered from registered sources, newest first.

Any area of core adds its entries without touching this module or the client page: register a
function taking a ``Client`` and returning ``TimelineEntry`` items, once, at import::

    from core.services import timeline

    @timeline.source("loans")
    def loan_entries(client):
        return [timeline.TimelineEntry(at=..., kind="loan", title=_("Loan disbursed"), body="")]

Sources run in the request's tenant scope, so they only ever see the client's institution.
A failing source is logged and skipped: one broken area never hides the others' history.
Plugins add entries through the ``client_timeline`` hook instead (called only for the plugin that
owns the client's institution), importing ``TimelineEntry`` from ``core.plugin_api``.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from core.plugin_api import TimelineEntry
from core.plugins import call_contained

log = logging.getLogger(__name__)


Source = Callable[[Any], list[TimelineEntry]]
_SOURCES: dict[str, Source] = {}


def source(name: str):
    """Register (or replace) the timeline source called ``name``."""

    def register(function: Source) -> Source:
        _SOURCES[name] = function
        return function

    return register


def sources() -> dict[str, Source]:
    return dict(_SOURCES)


def entries_for(client, limit: int = 100, *, user=None, slug: str | None = None) -> list[TimelineEntry]:
    """The newest ``limit`` entries of every core source for ``client``, and of the
    ``client_timeline`` hook of the plugin that owns the client's institution (``slug``)."""
    found: list[TimelineEntry] = []
    for name, function in _SOURCES.items():
        try:
            found.extend(function(client) or [])
        except Exception:
            log.exception("timeline source %s failed", name)
    for batch in call_contained("client_timeline", slug, client=client, user=user):
        found.extend(entry for entry in batch if isinstance(entry, TimelineEntry))
    return sorted(found, key=lambda entry: entry.moment, reverse=True)[:limit]
