"""The sector referral registry: referrers, their API tokens, referrals, offers, webhooks."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.audit import Audited
from core.models.types import Money, UTCDateTime, utcnow
from core.tenancy import TenantOwned

REFERRER_KINDS = ("bank", "public")
#: How a referral reached the registry: a referrer's API, its advisers' portal, a refused
#: entrepreneur through the referrer's own link (counted for that referrer), or on their own.
CHANNELS = ("api", "portal", "link", "self")

# The shared status vocabulary (DOMAIN.md: small, closing states carry a reason).
RECEIVED = "received"        # stored, not yet offered
OFFERED = "offered"          # offered to one institution, waiting for it to act
ACCEPTED = "accepted"        # the institution took the case
CONTACTED = "contacted"      # first contact with the applicant made
FINANCED = "financed"        # closed: a loan was granted
NOT_FINANCED = "not_financed"  # closed: no loan (reason code)
WITHDRAWN = "withdrawn"      # closed: the applicant withdrew consent (personal data erased)
NO_MATCH = "no_match"        # closed: no institution accepts (reasons)
LINKED = "linked"            # closed: the applicant already had an open case (linked_to)
STATUSES = (RECEIVED, OFFERED, ACCEPTED, CONTACTED, FINANCED, NOT_FINANCED, WITHDRAWN, NO_MATCH, LINKED)
OPEN_STATUSES = (RECEIVED, OFFERED, ACCEPTED, CONTACTED)
CLOSED_STATUSES = (FINANCED, NOT_FINANCED, WITHDRAWN, NO_MATCH, LINKED)


class Referrer(Audited, db.Model):
    """A bank or public financier that hands refused entrepreneurs over to the sector."""

    __tablename__ = "referrers"
    __audit_secret__ = frozenset({"webhook_secret"})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    #: the signing secret, encrypted with the data key (``core.services.data_keys``, "webhook-secret")
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the code in the referrer's self-referral link ``/refer/<code>`` (printed on refusal letters)
    link_code: Mapped[str | None] = mapped_column(String(24), unique=True)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="referrer")


class ApiToken(Audited, db.Model):
    """A bearer token of a referrer; only its SHA-256 is kept. Several per referrer, revocable."""

    __tablename__ = "referrer_tokens"
    __audit_secret__ = frozenset({"token_hash"})
    __audit_ignore__ = frozenset({"last_used_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("referrers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: from this moment the token is refused (401 "token-expired"); None: until revoked
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    referrer: Mapped[Referrer] = relationship(back_populates="tokens")

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class Referral(Audited, db.Model):
    """One refused entrepreneur handed over with consent; sector-wide, not owned by a tenant.

    Personal data lives in the ``applicant_*`` columns and is erased (set to NULL) when the
    applicant withdraws consent; the coded need (amount, sector, stage, region) stays for the
    anonymous funnel.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("referrer_id", "external_reference"),
        Index("ix_referrals_referrer_updated", "referrer_id", "updated_at", "id"),
        Index("ix_referrals_match_key", "applicant_match_key", "applicant_birth_date"),
        Index("ix_referrals_external_reference", "external_reference"),  # the header search
    )
    __audit_ignore__ = frozenset({"updated_at"})
    #: what a withdrawal erases (``core.services.referrals._erase_personal_data``)
    __audit_personal__ = frozenset({
        "applicant_first_name", "applicant_last_name", "applicant_birth_date", "applicant_match_key",
        "national_number_hash", "applicant_email", "applicant_phone", "postal_code", "purpose",
        "enterprise_number", "collective_debt_settlement", "undischarged_bankruptcy"})
    __audit_subject__ = ("referral", "id")

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("referrers.id"), index=True)
    external_reference: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10), default="api", server_default="api")
    status: Mapped[str] = mapped_column(String(20), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    linked_to_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))

    applicant_first_name: Mapped[str | None] = mapped_column(String(100))
    applicant_last_name: Mapped[str | None] = mapped_column(String(100))
    applicant_birth_date: Mapped[date | None] = mapped_column(Date)
    #: "last first", lowercase, accents removed (``core.services.clients.search_key``): one open
    #: case per person is found on this index, not by a case-insensitive scan.
    applicant_match_key: Mapped[str | None] = mapped_column(String(220))
    national_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    applicant_email: Mapped[str | None] = mapped_column(String(254))
    applicant_phone: Mapped[str | None] = mapped_column(String(30))
    postal_code: Mapped[str | None] = mapped_column(String(4))
    region: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(2))
    collective_debt_settlement: Mapped[bool | None] = mapped_column(Boolean)
    undischarged_bankruptcy: Mapped[bool | None] = mapped_column(Boolean)

    amount_requested: Mapped[Decimal] = mapped_column(Money)
    sector: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(Text)
    purpose_category: Mapped[str | None] = mapped_column(String(20))
    enterprise_number: Mapped[str | None] = mapped_column(String(10))
    enterprise_started_on: Mapped[date | None] = mapped_column(Date)
    term_months: Mapped[int | None] = mapped_column(Integer)

    refusal_decided_on: Mapped[date] = mapped_column(Date)
    refusal_reasons: Mapped[list] = mapped_column(JSON)
    consent_given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_method: Mapped[str] = mapped_column(String(50))
    consent_scope: Mapped[list] = mapped_column(JSON)

    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disbursed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_reason: Mapped[str | None] = mapped_column(String(60))
    no_match_reasons: Mapped[dict | None] = mapped_column(JSON)

    referrer: Mapped[Referrer] = relationship()
    offers: Mapped[list["ReferralOffer"]] = relationship(
        back_populates="referral", order_by="ReferralOffer.id",
        primaryjoin="Referral.id == ReferralOffer.referral_id")


class ReferralOffer(Audited, TenantOwned, db.Model):
    """A referral offered to one institution: its inbox entry, deadline and answer.

    Tenant-owned, so an institution's queries only ever see offers made to it. ``notes`` are the
    institution's own and never reach the referrer.
    """

    __tablename__ = "referral_offers"
    __audit_personal__ = frozenset({"notes"})
    __audit_subject__ = ("referral", "referral_id")
    __table_args__ = (Index("ix_referral_offers_state_institution", "state", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))  # open, accepted, declined, expired, withdrawn, closed
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[date] = mapped_column(Date)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(String(60))
    notes: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[int | None] = mapped_column(Integer)

    referral: Mapped[Referral] = relationship(back_populates="offers")


class IdempotencyRecord(db.Model):
    """The answer given to a referrer's POST with an ``Idempotency-Key``, replayed on retry."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("referrer_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("referrers.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """A status change to tell a referrer, written in the same transaction as the change."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index("ix_webhook_outbox_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("referrers.id"), index=True)
    #: None for a test delivery sent from the operator's screen (event ``webhook.test``)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class WebhookDelivery(db.Model):
    """One delivery attempt of an outbox message (the delivery log)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_outbox.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    worker: Mapped[str] = mapped_column(String(80))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)
