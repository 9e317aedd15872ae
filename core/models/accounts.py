"""Institutions, users and login attempts."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.audit import Audited
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantScoped

ROLE_ADMIN = "admin"
ROLE_OFFICER = "officer"
ROLE_COACH = "coach"
ROLE_AUDITOR = "auditor"
ROLE_OPERATOR = "operator"
INSTITUTION_ROLES = (ROLE_ADMIN, ROLE_OFFICER, ROLE_COACH)
FEDERATION_ROLES = (ROLE_AUDITOR, ROLE_OPERATOR)
#: Staff of the sector: every page of the CRM is for one of these roles.
ROLES = INSTITUTION_ROLES + FEDERATION_ROLES
#: An adviser of a bank or public financier (a referrer organisation): only the portal's pages
#: under /portal/; neither institution nor federation staff, never in ``ROLES``.
ROLE_REFERRER = "referrer"
REFERRER_ROLES = (ROLE_REFERRER,)
ALL_ROLES = ROLES + REFERRER_ROLES


class Institution(db.Model):
    """An institution as stored; its profile and behaviour come from its plugin (same slug)."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    names: Mapped[dict] = mapped_column(JSON)
    # False when the plugin is not enabled on this server: its data stays, its users cannot sign in.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: set when the operator disabled the institution on /operator/institutions: it then stays
    #: disabled even though its plugin is enabled (``sync_institutions`` respects it)
    operator_disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.slug


class User(Audited, TenantScoped, UserMixin, db.Model):
    """A person who signs in: staff of one institution, of the federation or the operator, or an
    adviser of a referrer organisation (role ``referrer``, ``referrer_id`` set, on the portal only)."""

    __tablename__ = "users"
    __audit_secret__ = frozenset({"password_hash", "invite_token_hash", "totp_secret"})
    __audit_ignore__ = frozenset({"last_login_at", "created_at", "totp_last_step"})

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    preferred_language: Mapped[str] = mapped_column(String(2), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The second factor (core.services.second_factor): the TOTP secret encrypted with the data
    # key, when it was confirmed, the last time step a code was accepted for (never again), and
    # whether an admin's reset asks for a new enrolment at the next sign-in.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    totp_must_enrol: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    #: for an adviser of a bank or public financier (the portal's ``referrer`` role): their organisation
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("referrers.id"), index=True)

    institution: Mapped[Institution | None] = relationship(lazy="joined")
    referrer: Mapped["Referrer | None"] = relationship("Referrer", lazy="select")  # noqa: F821

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled user's session stops working
        return self.active

    @property
    def is_federation(self) -> bool:
        return self.role in FEDERATION_ROLES

    @property
    def is_referrer(self) -> bool:
        return self.role == ROLE_REFERRER

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class LoginAttempt(db.Model):
    """One sign-in attempt, kept to throttle guessing (by email and by address)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginThrottle(db.Model):
    """The failed sign-ins of one account (by e-mail, known or not) in the current window, and its
    lockout. Each attempt is reserved by one guarded UPDATE before the password is checked, so
    parallel attempts are counted exactly (core.services.accounts)."""

    __tablename__ = "login_throttles"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)  # in a row: each one twice as long


class RecoveryCode(db.Model):
    """One single-use recovery code of a user's second factor; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailChange(db.Model):
    """A new e-mail address a user asked for, waiting to be confirmed from that address.

    Only the SHA-256 of the link's token is kept; the address changes when the link is used
    (``confirmed_at``), before ``expires_at``. A newer request replaces the pending one.
    """

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    old_email: Mapped[str] = mapped_column(String(254))
    new_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(db.Model):
    """One sign-in of a user on one browser, checked on every request (core.services.user_sessions).

    The browser's signed cookie holds a random session id; only its SHA-256 is kept here. The
    session stops working once ``revoked_at`` is set (sign-out, password change, an admin, "sign
    out everywhere") or when it is idle or old beyond the configured lifetimes.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(120), default="")  # a summary: browser and system
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
