"""Institutions in the database, kept in step with the enabled plugins."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.extensions import db
from core.models import Institution
from core.models.types import utcnow
from core.plugins import forget_institution_slugs, state
from core.services import audit
from core.services.errors import NotFound, ValidationFailed


def sync_institutions() -> list[Institution]:
    """Create or update a row for every enabled plugin's institution; mark the others disabled.

    Rows are never deleted: a disabled institution's data stays, its users just cannot sign in.
    An institution the operator disabled (``set_enabled``) stays disabled.
    """
    registered = state().institutions
    rows = {row.slug: row for row in db.session.scalars(select(Institution))}
    for slug, profile in registered.items():
        row = rows.get(slug) or Institution(slug=slug)
        row.names = {lang: profile.name(lang) for lang in ("nl", "fr", "en")}
        row.enabled = row.operator_disabled_at is None
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


def plugin_enabled(institution: Institution) -> bool:
    """True when the institution's plugin is enabled on this server."""
    return institution.slug in state().institutions


def all_rows() -> list[Institution]:
    """Every institution stored, enabled or not, by slug (the operator's list)."""
    return list(db.session.scalars(select(Institution).order_by(Institution.slug)))


def by_id(institution_id: int) -> Institution:
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        raise NotFound()
    return institution


def set_enabled(institution_id: int, enabled: bool) -> Institution:
    """The operator disables or re-enables an institution; audited, nothing is deleted.

    Disabled, its staff cannot sign in (open sessions end at their next request), no new
    referral is offered to it and the public financing guide leaves it out. Enabling needs
    its plugin to be enabled on this server.
    """
    institution = by_id(institution_id)
    if enabled and not plugin_enabled(institution):
        raise ValidationFailed({"": _l("Its plugin is not enabled on this server; "
                                       "enable the plugin first (MICROFIN_PLUGINS).")})
    if institution.enabled == enabled and (institution.operator_disabled_at is None) == enabled:
        return institution
    before = institution.enabled
    institution.enabled = enabled
    institution.operator_disabled_at = None if enabled else utcnow()
    audit.record("enable" if enabled else "disable", institution,
                 {"enabled": [before, enabled], "slug": institution.slug})
    db.session.commit()
    forget_institution_slugs()
    return institution
