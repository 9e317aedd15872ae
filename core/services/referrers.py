"""Referrer organisations and their API tokens (operators manage them from the CLI)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.extensions import db
from core.models.referrals import REFERRER_KINDS, ApiToken, Referrer
from core.models.types import utcnow
from core.services import webhook_urls
from core.services.errors import NotFound, ValidationFailed

TOKEN_PREFIX = "mfr_"


@dataclass
class IssuedToken:
    referrer: Referrer
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_webhook(url: str | None, secret: str | None) -> dict:
    errors = {}
    refused = url and webhook_urls.problem(url, allow_private=webhook_urls.private_allowed())
    if refused:
        errors["webhook_url"] = refused
    if url and not secret:
        errors["webhook_secret"] = _l("A webhook needs a secret to sign its messages.")
    if secret and len(secret) < 16:
        errors["webhook_secret"] = _l("Use at least %(n)d characters.", n=16)
    return errors


def add_referrer(*, name: str, kind: str, webhook_url: str | None = None,
                 webhook_secret: str | None = None) -> IssuedToken:
    """Create a referrer organisation with its first API token."""
    name = (name or "").strip()
    errors = _check_webhook(webhook_url, webhook_secret)
    if not name:
        errors["name"] = _l("Enter the organisation's name.")
    if kind not in REFERRER_KINDS:
        errors["kind"] = _l("Choose bank or public.")
    if name and db.session.scalar(select(Referrer.id).where(Referrer.name == name)):
        errors["name"] = _l("A referrer with this name already exists.")
    if errors:
        raise ValidationFailed(errors)
    referrer = Referrer(name=name, kind=kind, webhook_url=webhook_url or None,
                        webhook_secret=webhook_secret or None)
    db.session.add(referrer)
    issued = _new_token(referrer)
    db.session.commit()
    return issued


def _new_token(referrer: Referrer) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(referrer=referrer, token_hash=_hash(raw), hint=raw[:10])
    db.session.add(token)
    return IssuedToken(referrer=referrer, token=token, secret=raw)


def by_name(name: str) -> Referrer:
    referrer = db.session.scalar(select(Referrer).where(Referrer.name == name))
    if referrer is None:
        raise NotFound()
    return referrer


def issue_token(name: str) -> IssuedToken:
    """Another token for an existing referrer (e.g. to rotate without downtime)."""
    issued = _new_token(by_name(name))
    db.session.commit()
    return issued


def revoke_token(hint: str) -> ApiToken:
    """Revoke the token whose hint (its first characters) is given."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.hint == hint, ApiToken.revoked_at.is_(None)))
    if token is None:
        raise NotFound()
    token.revoked_at = utcnow()
    db.session.commit()
    return token


def set_webhook(name: str, url: str | None, secret: str | None) -> Referrer:
    errors = _check_webhook(url, secret)
    if errors:
        raise ValidationFailed(errors)
    referrer = by_name(name)
    referrer.webhook_url, referrer.webhook_secret = url or None, secret or None
    db.session.commit()
    return referrer


def authenticate(raw_token: str) -> Referrer | None:
    """The active referrer owning this bearer token, or None."""
    if not raw_token or not raw_token.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(raw_token)))
    if token is None or token.revoked_at is not None or not token.referrer.active:
        return None
    return token.referrer


def all_referrers() -> list[Referrer]:
    return list(db.session.scalars(select(Referrer).order_by(Referrer.name)))
