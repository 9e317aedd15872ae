"""Self-referrals waiting for the entrepreneur to confirm their e-mail address.

Nothing of a self-referral enters the registry before the address is confirmed: the validated
form is kept here (``payload``), keyed by the SHA-256 of the one-time link's token.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.types import UTCDateTime, utcnow


class SelfReferralRequest(db.Model):
    """One self-referral form sent from ``/refer``, pending until its mail link is confirmed.

    Not tenant-owned (no institution is involved before routing) and not audited (anyone may
    send the form; the referral created on confirmation is audited). ``payload`` holds the
    validated fields, consent included, and is emptied once the referral is created.
    """

    __tablename__ = "self_referral_requests"
    __table_args__ = (Index("ix_self_referral_requests_email_created", "email", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    #: the referrer whose link ``/refer/<code>`` was used; None for ``/refer`` itself
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("referrers.id"))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the referral created on confirmation
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
