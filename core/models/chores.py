"""Scheduled chores: one row per chore and period, the lease that makes each run once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.types import UTCDateTime, utcnow


class ChoreRun(db.Model):
    """A chore taken for one period (``period_key``) by one worker, and what came of it.

    The unique (chore, period_key) pair is the lease: the worker whose insert succeeds runs it;
    every other worker, on any node, sees the row and leaves it.
    """

    __tablename__ = "chore_runs"
    __table_args__ = (UniqueConstraint("chore", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chore: Mapped[str] = mapped_column(String(60), index=True)
    period_key: Mapped[str] = mapped_column(String(20))
    worker: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[str | None] = mapped_column(Text)
