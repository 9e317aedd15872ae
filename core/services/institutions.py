"""Institutions in the database, kept in step with the enabled plugins."""
from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.models import Institution
from core.plugins import forget_institution_slugs, state


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
    forget_institution_slugs()
    return sorted(rows.values(), key=lambda r: r.slug)


def enabled_institutions() -> list[Institution]:
    """Institutions whose plugin is enabled here, by slug."""
    registered = state().institutions
    rows = db.session.scalars(select(Institution).order_by(Institution.slug))
    return [row for row in rows if row.enabled and row.slug in registered]


def by_slug(slug: str) -> Institution | None:
    return db.session.scalar(select(Institution).where(Institution.slug == slug))
