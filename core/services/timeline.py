"""The client timeline: entries gathered from registered sources, newest first.

Any area adds its entries without touching this module or the client page: register a
function taking a ``Client`` and returning ``TimelineEntry`` items, once, at import or in an
``on_event``-free setup function::

    from core.services import timeline

    @timeline.source("loans")
    def loan_entries(client):
        return [timeline.TimelineEntry(at=..., kind="loan", title=_("Loan disbursed"), body="")]

Sources run in the request's tenant scope, so they only ever see the client's institution.
A failing source is logged and skipped: one broken area never hides the others' history.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a client. ``at`` may be a date (taken as midnight UTC)."""

    at: datetime | date
    kind: str  # a short code, also the CSS class: note, session, training, loan, referral …
    title: Any  # a translated string
    body: str = ""
    author: str = ""
    url: str | None = None

    @property
    def moment(self) -> datetime:
        if isinstance(self.at, datetime):
            return self.at
        return datetime.combine(self.at, time.min, timezone.utc)


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


def entries_for(client, limit: int = 100) -> list[TimelineEntry]:
    """The newest ``limit`` entries of every source for ``client``."""
    found: list[TimelineEntry] = []
    for name, function in _SOURCES.items():
        try:
            found.extend(function(client) or [])
        except Exception:
            log.exception("timeline source %s failed", name)
    return sorted(found, key=lambda entry: entry.moment, reverse=True)[:limit]
