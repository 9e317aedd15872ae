"""Institutions in the database, kept in step with the enabled plugins."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from core.extensions import db
from core.models import Institution
from core.plugins import state


def sync_institutions() -> list[Institution]:
    """Create or update a row for every enabled plugin's institution; mark the others disabled.

    Rows are never deleted: a disabled institution's data stays, its users just cannot sign in.
    """
    registered = state().institutions
    rows = {row.slug: row for row in db.session.scalars(select(Institution))}
    for slug, profile in registered.items():
        row = rows.get(slug) or Institution(slug=slug)
        row.names = {lang: profile.name(lang) for lang in ("nl", "fr", "en")}
        row.enabled = True
        db.session.add(row)
        rows[slug] = row
    for slug, row in rows.items():
        if slug not in registered:
            row.enabled = False
    db.session.commit()
    _id_to_slug.cache_clear()
    return sorted(rows.values(), key=lambda r: r.slug)


def enabled_institutions() -> list[Institution]:
    """Institutions whose plugin is enabled here, by slug."""
    registered = state().institutions
    rows = db.session.scalars(select(Institution).order_by(Institution.slug))
    return [row for row in rows if row.enabled and row.slug in registered]


def by_slug(slug: str) -> Institution | None:
    return db.session.scalar(select(Institution).where(Institution.slug == slug))


def slug_for_id(institution_id: int) -> str | None:
    """The slug of an institution id (cached per app and database)."""
    return _id_to_slug(current_app.config["SQLALCHEMY_DATABASE_URI"], institution_id)


def _lookup(institution_id: int) -> str | None:
    return db.session.scalar(select(Institution.slug).where(Institution.id == institution_id))


class _SlugCache:
    """A tiny cache keyed by (database, id); ids never change slug."""

    def __init__(self):
        self._data: dict[tuple[str, int], str] = {}

    def __call__(self, database: str, institution_id: int) -> str | None:
        key = (database, institution_id)
        if key not in self._data:
            slug = _lookup(institution_id)
            if slug is None:
                return None
            self._data[key] = slug
        return self._data[key]

    def cache_clear(self) -> None:
        self._data.clear()


_id_to_slug = _SlugCache()
