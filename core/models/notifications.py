"""In-app notifications (the bell) and each user's choice of how to hear of each kind."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantScoped

MODE_IMMEDIATELY = "immediately"
MODE_DIGEST = "digest"
MODE_OFF = "off"
MODES = (MODE_IMMEDIATELY, MODE_DIGEST, MODE_OFF)


class Notification(TenantScoped, db.Model):
    """Something one user should know: a ``kind`` and its ``params`` (ids, dates, amounts, the
    name of a client of the same institution), rendered as a short text in the reader's language.

    Scoped to the recipient's institution (``institution_id``), and read only by its recipient.
    ``once_key`` (with the recipient and the kind) keeps a daily check from telling the same thing
    twice; ``in_digest`` marks an item waiting for the recipient's daily digest mail.
    """

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "kind", "once_key"),
                      Index("ix_notifications_user_read", "user_id", "read_at"),
                      # No RETURNING (the id comes from the sequence first): row-level security on
                      # PostgreSQL lets a notice to another institution's staff be added, not read.
                      {"implicit_returning": False})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(300))
    once_key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_digest: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class NotificationPreference(TenantScoped, db.Model):
    """How a user wants to hear of one kind: ``immediately`` (a mail), in the daily ``digest``, or
    ``off`` (not at all: no mail, nothing in the bell). A kind without a row has its default."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(12))
