"""The tenant-isolation walker: every registered route, requested with another institution's ids.

Features are covered by adding data, not by writing tests: a provider per URL parameter name
returns, for a given institution's staff, the value of one of *its* records (``user_id`` → one
of its users). The walker signs in as the other institution's staff and expects 404 everywhere.
A route whose parameter has no provider fails the test, so a new route cannot go unchecked.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from sqlalchemy import select

from core.extensions import db
from core.tenancy import TenantScoped, all_institutions

Provider = Callable[[Any], Any]
PROVIDERS: dict[str, Provider] = {}
MARKERS: list[Callable[[Any], list[str]]] = []


def provides(parameter: str):
    """Register the function giving an institution's value for URL parameter ``parameter``."""

    def register(function: Provider) -> Provider:
        PROVIDERS[parameter] = function
        return function

    return register


def marker(function: Callable[[Any], list[str]]):
    """Register a function listing strings that only the institution's own pages may show."""
    MARKERS.append(function)
    return function


def tenant_fingerprint(institution_id: int) -> str:
    """A hash of every row of every table with an ``institution_id`` that belongs to it."""
    digest = hashlib.sha256()
    with all_institutions("isolation test reads the other tenant's rows"):
        for mapper in sorted(db.Model.registry.mappers, key=lambda m: m.class_.__name__):
            model = mapper.class_
            if not issubclass(model, TenantScoped) and "institution_id" not in mapper.columns:
                continue
            columns = [c for c in mapper.columns]
            rows = db.session.execute(
                select(*columns).where(model.institution_id == institution_id).order_by(*mapper.primary_key)
            ).all()
            digest.update(model.__name__.encode())
            digest.update(json.dumps([list(r) for r in rows], default=str, sort_keys=True).encode())
    return digest.hexdigest()
