"""Referrer organisations and their API tokens (operators manage them from the CLI and /operator/)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from datetime import date, datetime, time, timedelta, timezone

from functools import lru_cache

from sqlalchemy import bindparam, select, update

from core.clock import BRUSSELS
from core.extensions import db
from core.models.accounts import User
from core.models.referrals import REFERRER_KINDS, ApiToken, Referrer
from core.models.types import utcnow
from core.services import data_keys, webhook_urls
from core.services.errors import NotFound, ValidationFailed

TOKEN_PREFIX = "mfr_"
#: ``last_used_at`` is written at most this often per token (not one UPDATE per API request)
LAST_USED_RESOLUTION = timedelta(minutes=1)
WEBHOOK_SECRET_BYTES = 32
WEBHOOK_SECRET_MAX = 200


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
    if secret and len(secret) > WEBHOOK_SECRET_MAX:
        errors["webhook_secret"] = _l("Use at most %(n)d characters.", n=WEBHOOK_SECRET_MAX)
    return errors


def add_referrer(*, name: str, kind: str, webhook_url: str | None = None,
                 webhook_secret: str | None = None, expires_on: str | None = None) -> IssuedToken:
    """Create a referrer organisation with its first API token (expiring when the day
    ``expires_on`` starts, or never). Every wrong field is named at once; nothing is written."""
    name = (name or "").strip()
    errors = _check_webhook(webhook_url, webhook_secret)
    expires_at = None
    try:
        expires_at = parse_expiry(expires_on)
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if not name:
        errors["name"] = _l("Enter the organisation's name.")
    if kind not in REFERRER_KINDS:
        errors["kind"] = _l("Choose bank or public.")
    if name and db.session.scalar(select(Referrer.id).where(Referrer.name == name)):
        errors["name"] = _l("A referrer with this name already exists.")
    if errors:
        raise ValidationFailed(errors)
    referrer = Referrer(name=name, kind=kind, webhook_url=webhook_url or None,
                        webhook_secret=data_keys.seal_optional(data_keys.WEBHOOK_SECRET, webhook_secret))
    db.session.add(referrer)
    issued = _new_token(referrer, expires_at)
    db.session.commit()
    return issued


def parse_expiry(value: str | None) -> datetime | None:
    """The moment a token expiring on ``value`` (YYYY-MM-DD, empty: never) stops working: the start
    of that day in Brussels. ``ValidationFailed`` (field ``expires_on``) for a bad or past date."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed({"expires_on": _l("Enter a date as YYYY-MM-DD.")}) from None
    moment = datetime.combine(day, time.min, BRUSSELS).astimezone(timezone.utc)
    if moment <= utcnow():
        raise ValidationFailed({"expires_on": _l("Choose a day after today: the token stops working when that day starts.")})
    return moment


def _new_token(referrer: Referrer, expires_at: datetime | None = None) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(referrer=referrer, token_hash=_hash(raw), hint=raw[:10], expires_at=expires_at)
    db.session.add(token)
    return IssuedToken(referrer=referrer, token=token, secret=raw)


def by_name(name: str) -> Referrer:
    referrer = db.session.scalar(select(Referrer).where(Referrer.name == name))
    if referrer is None:
        raise NotFound()
    return referrer


def by_id(referrer_id: int) -> Referrer:
    """The referrer with this id (``NotFound`` otherwise)."""
    referrer = db.session.get(Referrer, referrer_id)
    if referrer is None:
        raise NotFound()
    return referrer


def issue_token(name: str, expires_on: str | None = None) -> IssuedToken:
    """Another token for an existing referrer (e.g. to rotate without downtime)."""
    return issue_token_for(by_name(name), expires_on)


def issue_token_for(referrer: Referrer, expires_on: str | None = None) -> IssuedToken:
    """Another token for ``referrer``, expiring when the day ``expires_on`` (YYYY-MM-DD) starts or
    never; its secret is in the result only (the hash is stored). A bad date writes nothing."""
    issued = _new_token(referrer, parse_expiry(expires_on))
    db.session.commit()
    return issued


def _revoke(token: ApiToken | None) -> ApiToken:
    if token is None or token.revoked_at is not None:
        raise NotFound()
    token.revoked_at = utcnow()
    db.session.commit()
    return token


def revoke_token(hint: str) -> ApiToken:
    """Revoke the token whose hint (its first characters) is given."""
    return _revoke(db.session.scalar(select(ApiToken).where(ApiToken.hint == hint,
                                                            ApiToken.revoked_at.is_(None))))


def token_of(referrer: Referrer, token_id: int) -> ApiToken:
    """``referrer``'s token with this id (``NotFound`` for another referrer's)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.referrer_id != referrer.id:
        raise NotFound()
    return token


def revoke_token_of(referrer: Referrer, token_id: int) -> ApiToken:
    """Revoke ``referrer``'s active token ``token_id``; the next API call with it answers 401."""
    return _revoke(token_of(referrer, token_id))


def tokens_of(referrer: Referrer) -> list[ApiToken]:
    """The referrer's tokens, active first, newest first."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.referrer_id == referrer.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def set_webhook(name: str, url: str | None, secret: str | None) -> Referrer:
    return set_webhook_of(by_name(name), url, secret)


def set_webhook_of(referrer: Referrer, url: str | None, secret: str | None) -> Referrer:
    """Point ``referrer``'s webhook at ``url`` signed with ``secret`` (both None: remove it)."""
    url = (url or "").strip() or None
    errors = _check_webhook(url, secret)
    if url is None and secret:
        errors["webhook_url"] = _l("Enter the webhook's URL.")
    if errors:
        raise ValidationFailed(errors)
    referrer.webhook_url = url
    referrer.webhook_secret = data_keys.seal_optional(data_keys.WEBHOOK_SECRET, secret)
    db.session.commit()
    return referrer


def new_webhook_secret() -> str:
    """A random signing secret for a webhook (shown to the operator once)."""
    return secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)


def portal_users(referrer: Referrer) -> list[User]:
    """The advisers' accounts of this referrer organisation (users whose ``referrer_id`` is it)."""
    from core.tenancy import all_institutions

    with all_institutions("operator: the portal users of a referrer organisation"):
        return list(db.session.scalars(select(User).where(User.referrer_id == referrer.id)
                                       .order_by(User.name)))


class TokenExpired(Exception):
    """The bearer token was valid but its expiry has passed."""

    def __init__(self, expires_at: datetime):
        super().__init__(expires_at.isoformat())
        self.expires_at = expires_at


def authenticate(raw_token: str) -> Referrer | None:
    """The active referrer owning this bearer token, or None; ``TokenExpired`` for an expired one."""
    if not raw_token or not raw_token.startswith(TOKEN_PREFIX):
        return None
    found = db.session.execute(_token_query(), {"token_hash": _hash(raw_token)}).first()
    if found is None:
        return None
    token, referrer = found  # one statement: the token and its referrer, on the unique hash
    if token.revoked_at is not None or not referrer.active:
        return None
    if token.expired(utcnow()):
        raise TokenExpired(token.expires_at)
    _mark_used(token)
    return referrer


@lru_cache(maxsize=1)
def _token_query():
    """The token and its referrer, on the unique hash: built once (building a statement costs
    about as much as running it); neither table belongs to an institution, so no tenant scope."""
    return (select(ApiToken, Referrer).join(Referrer, ApiToken.referrer_id == Referrer.id)
            .where(ApiToken.token_hash == bindparam("token_hash"))
            .execution_options(microfin_all_institutions=True))


def _mark_used(token: ApiToken) -> None:
    """Record when the token was last used (at most once per ``LAST_USED_RESOLUTION``)."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    cutoff = now - LAST_USED_RESOLUTION
    db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                       .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < cutoff))
                       .values(last_used_at=now).execution_options(synchronize_session=False))
    db.session.commit()


def all_referrers() -> list[Referrer]:
    return list(db.session.scalars(select(Referrer).order_by(Referrer.name)))
