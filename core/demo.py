"""Demo data: the enabled institutions, one user per role per institution, federation staff."""
from __future__ import annotations

import secrets

from sqlalchemy import select

from core.extensions import db
from core.models import INSTITUTION_ROLES, User
from core.services import accounts, audit
from core.services.institutions import enabled_institutions
from core.tenancy import all_institutions

DEMO_DOMAIN = "demo.microfin.be"
LANGUAGE_OF = {"microstart": "fr", "credal": "fr", "hefboom": "nl", "brusoc": "fr"}


def demo_users() -> list[tuple[str, str, str | None, str]]:
    """(email, role, institution slug, language) of every demo account for the enabled plugins."""
    rows = []
    for institution in enabled_institutions():
        language = LANGUAGE_OF.get(institution.slug, "en")
        for role in INSTITUTION_ROLES:
            rows.append((f"{role}@{institution.slug}.{DEMO_DOMAIN}", role, institution.slug, language))
    rows.append((f"auditor@federation.{DEMO_DOMAIN}", "auditor", None, "nl"))
    rows.append((f"operator@{DEMO_DOMAIN}", "operator", None, "en"))
    return rows


def load_demo() -> list[tuple[str, str, str | None, str]]:
    """Create missing demo accounts; return (email, role, institution, password) of those created."""
    ids = {row.slug: row.id for row in enabled_institutions()}
    created = []
    with audit.acting_as("demo"), all_institutions("demo data spans the sector"):
        existing = set(db.session.scalars(select(User.email)))
        for email, role, slug, language in demo_users():
            if email in existing:
                continue
            password = secrets.token_urlsafe(9)
            name = f"{role.capitalize()} {slug.capitalize() if slug else 'Federation'}"
            accounts.create_user(email=email, name=name, role=role, institution_id=ids.get(slug),
                                 password=password, preferred_language=language)
            created.append((email, role, slug, password))
        _load_starter_catalogue()
    return created


def _load_starter_catalogue() -> None:
    """The starter code-of-conduct catalogue, unless a version of it is already loaded."""
    from core.models import Catalogue
    from core.services.compliance import catalogue

    if db.session.scalar(select(Catalogue.id).limit(1)) is None:
        catalogue.load_starter()
