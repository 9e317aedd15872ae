"""Secrets the application keeps for itself, encrypted with the data key (``core.services.data_keys``).

One row today: ``match-key``, the key of the national-number hashes. It is random material kept
here (not derived from the data key) so that rotating the data key does not change any hash: a
referral keeps only the hash of its applicant's number, never the number, so hashes could not be
recomputed.
"""
from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class DataSecret(db.Model):
    __tablename__ = "data_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # a Fernet token (data key, purpose "data-secret")
