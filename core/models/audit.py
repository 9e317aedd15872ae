"""The append-only audit trail: who created, changed, deleted or revealed what."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantScoped


class Audited:
    """Mixin: every insert, update and delete of this model is written to the audit trail.

    ``__audit_secret__`` names columns whose values are never written (only that they changed);
    ``__audit_ignore__`` names columns not worth recording (bookkeeping timestamps).
    ``__audit_personal__`` names columns holding a person's data: their values are written
    encrypted with the key of the person ``__audit_subject__`` names, as (subject kind, the
    attribute holding the subject's id), e.g. ``("client", "client_id")``; erasing the person
    destroys that key (crypto-shredding, ``core.models.subject_keys``).
    """

    __audit_secret__: frozenset[str] = frozenset()
    __audit_ignore__: frozenset[str] = frozenset()
    __audit_personal__: frozenset[str] = frozenset()
    __audit_subject__: tuple[str, str] | None = None


class AuditEntry(TenantScoped, db.Model):
    """One recorded action. Rows are only ever inserted (see core.services.audit), with one
    exception: personal values written in clear by older versions are rewritten sealed
    (``audit.seal_history``, ``audit.seal_records``); who, what and when never change."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_record", "record_type", "record_id"),
                      Index("ix_audit_entries_institution_at", "institution_id", "at"),
                      # No RETURNING: on PostgreSQL an entry may be written where row-level security
                      # lets it be added but not read back (another institution's, or none's).
                      {"implicit_returning": False})

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the trail outlives users
    actor: Mapped[str] = mapped_column(String(254))  # email or "cli", readable without a join
    action: Mapped[str] = mapped_column(String(20))  # create, update, delete, reveal, sign-in …
    record_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
