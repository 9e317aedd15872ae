"""Clients (entrepreneurs): the person, their enterprise, consents and notes.

The national register number is never stored in clear: ``national_number_hash`` (keyed HMAC)
finds duplicates, ``national_number_secret`` (Fernet) can be revealed to roles that need it.
The ``intake_*`` columns are written once, at creation, for impact reporting.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.accounts import User
from core.models.audit import Audited
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantOwned

GENDERS = ("female", "male", "other")
EDUCATION_LEVELS = ("none", "primary", "lower_secondary", "upper_secondary", "higher")
LOW_EDUCATION = ("none", "primary", "lower_secondary")
EMPLOYMENT_STATUSES = ("job_seeker", "employed", "self_employed", "inactive", "student")
SECTORS = ("horeca", "retail", "services", "care", "transport", "construction", "other")
STAGES = ("project", "starter", "established")
LEGAL_FORMS = ("sole_trader", "srl", "sc", "sa", "asbl", "other")
CLIENT_STATUSES = ("active", "closed")
AGE_GROUPS = ("under_30", "30_to_49", "50_plus")
CONSENT_KINDS = ("data_processing", "referral_sharing", "impact_surveys")
CONSENT_METHODS = ("paper", "in_person", "email", "phone", "online")


class Client(Audited, TenantOwned, db.Model):
    """An entrepreneur followed by an institution, and their enterprise."""

    __tablename__ = "clients"
    __audit_secret__ = frozenset({"national_number_hash", "national_number_secret"})
    __audit_ignore__ = frozenset({"created_at", "sort_key", "first_name_key", "enterprise_key"})
    #: what erasure and pseudonymisation remove (``core.services.erasure``); the codes that stay
    #: for the reports (region, sector, stage, intake_*) are written in clear
    __audit_personal__ = frozenset({
        "first_name", "last_name", "birth_date", "email", "phone", "street", "city", "country_of_birth",
        "education_level", "employment_status", "disability", "household_size", "national_number_last",
        "enterprise_name", "enterprise_number", "iban"})
    __audit_subject__ = ("client", "id")
    __table_args__ = (
        Index("ix_clients_list", "institution_id", "sort_key", "id"),
        # the sort key rides along so a search branch yields (id, sort key) from the index alone
        Index("ix_clients_first_name", "institution_id", "first_name_key", "sort_key"),
        Index("ix_clients_enterprise", "institution_id", "enterprise_key", "sort_key"),
        Index("ix_clients_nn_hash", "institution_id", "national_number_hash"),
        Index("ix_clients_enterprise_number", "institution_id", "enterprise_number"),
        Index("ix_clients_iban", "institution_id", "iban"),  # the header search (core.services.search)
        # the list's sortable columns (core.services.clients.CLIENT_SORTS), with the id tiebreaker
        Index("ix_clients_sort_created", "institution_id", "created_at", "id"),
        Index("ix_clients_sort_stage", "institution_id", "stage", "id"),
        Index("ix_clients_sort_sector", "institution_id", "sector", "id"),
        Index("ix_clients_sort_status", "institution_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(12), default="active")
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # the person
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(4))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(12))
    province: Mapped[str] = mapped_column(String(3))
    preferred_language: Mapped[str] = mapped_column(String(2))
    country_of_birth: Mapped[str | None] = mapped_column(String(2))  # ISO 3166 alpha-2, sensitive
    education_level: Mapped[str | None] = mapped_column(String(20))
    employment_status: Mapped[str | None] = mapped_column(String(20))
    disability: Mapped[bool] = mapped_column(Boolean, default=False)  # sensitive
    household_size: Mapped[int | None] = mapped_column(Integer)
    national_number_hash: Mapped[str | None] = mapped_column(String(64))
    national_number_secret: Mapped[str | None] = mapped_column(Text)
    national_number_last: Mapped[str | None] = mapped_column(String(2))  # for the masked display
    # the enterprise
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_number: Mapped[str | None] = mapped_column(String(10))
    legal_form: Mapped[str | None] = mapped_column(String(20))
    sector: Mapped[str] = mapped_column(String(20))
    enterprise_start_date: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(12))
    iban: Mapped[str | None] = mapped_column(String(34))
    # search and keyset order: lowercase, accents removed
    sort_key: Mapped[str] = mapped_column(String(220))
    first_name_key: Mapped[str] = mapped_column(String(100))
    enterprise_key: Mapped[str | None] = mapped_column(String(200))
    # frozen at intake, for impact reporting
    intake_gender: Mapped[str] = mapped_column(String(10))
    intake_born_abroad: Mapped[bool | None] = mapped_column(Boolean)
    intake_age_group: Mapped[str] = mapped_column(String(10))
    intake_low_educated: Mapped[bool | None] = mapped_column(Boolean)
    intake_job_seeker: Mapped[bool | None] = mapped_column(Boolean)
    intake_disability: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the person's data replaced while the loan records are kept (``core.services.erasure``)
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the person's data erased and their key destroyed: nothing left identifies them
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}

    coach: Mapped[User | None] = relationship(lazy="joined")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def masked_national_number(self) -> str:
        return f"••.••.••-•••.{self.national_number_last}" if self.national_number_last else ""


class Consent(Audited, TenantOwned, db.Model):
    """A consent the client gave (when and how), until withdrawn."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    given_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(12))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientNote(Audited, TenantOwned, db.Model):
    """A free note on a client's timeline."""

    __tablename__ = "client_notes"
    __audit_personal__ = frozenset({"body"})
    __audit_subject__ = ("client", "client_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")


class ClientExport(TenantOwned, db.Model):
    """An export of the filtered client list, built chunk by chunk; progress lives here so
    that any web worker can continue it and report on it."""

    __tablename__ = "client_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    format: Mapped[str] = mapped_column(String(4))
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="running")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    cursor_key: Mapped[str | None] = mapped_column(String(220))
    cursor_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ClientExportChunk(TenantOwned, db.Model):
    """One chunk of an export's rows, as CSV text without header."""

    __tablename__ = "client_export_chunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("client_exports.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    rows: Mapped[str] = mapped_column(Text)
