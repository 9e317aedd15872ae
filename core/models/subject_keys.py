"""The key of each person whose personal values the audit trail keeps (crypto-shredding).

Every value of a field a model marks personal (``Audited.__audit_personal__``) is written to the
trail encrypted with the key of its subject (a client, a referral's applicant), never in clear.
Erasing the person deletes this row in the same transaction: the trail keeps who did what and
when, and its personal values can no longer be read by anyone (``core.services.audit``).

``key`` is a random Fernet key, itself encrypted with the data key (purpose "subject-key",
``core.services.data_keys``), so ``microfin keys rotate`` covers it like any other secret.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.types import UTCDateTime, utcnow

SUBJECT_KINDS = ("client", "referral")


class SubjectKey(db.Model):
    __tablename__ = "subject_keys"
    __table_args__ = (UniqueConstraint("kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(Text)  # a Fernet token of the data key (purpose "subject-key")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
