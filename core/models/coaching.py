"""Coaching: a track per client with phases, sessions with agreed actions, collective trainings."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.accounts import User
from core.models.audit import Audited
from core.models.people import Client
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantOwned

PHASES = ("before_loan", "start_up", "follow_up")
CHANNELS = ("in_person", "phone", "video", "email")
CLOSE_REASONS = ("manual", "loan_repaid")


class CoachingTrack(Audited, TenantOwned, db.Model):
    """The free coaching of one client, from before the loan until it is repaid."""

    __tablename__ = "coaching_tracks"
    __audit_personal__ = frozenset({"final_note"})
    __audit_subject__ = ("client", "client_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    phase: Mapped[str] = mapped_column(String(12), default="before_loan")
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(12))
    final_note: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client] = relationship(lazy="joined")


class CoachingSession(Audited, TenantOwned, db.Model):
    """One individual coaching session (held, or planned when its date is ahead)."""

    __tablename__ = "coaching_sessions"
    __audit_personal__ = frozenset({"topics", "notes"})
    __audit_subject__ = ("client", "client_id")
    __table_args__ = (Index("ix_coaching_sessions_coach_on", "institution_id", "coach_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("coaching_tracks.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    held_on: Mapped[date] = mapped_column(Date)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    topics: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    coach: Mapped[User] = relationship(lazy="joined")
    client: Mapped[Client] = relationship(lazy="joined")
    actions: Mapped[list["AgreedAction"]] = relationship(
        back_populates="session", order_by="AgreedAction.due_on", lazy="selectin")


class AgreedAction(Audited, TenantOwned, db.Model):
    """Something the client (or coach) agreed to do by a date."""

    __tablename__ = "agreed_actions"
    # what a client agreed to is about the person, and has no client id of its own to key it by
    # (core.services.audit): the trail records that it changed, never the text
    __audit_secret__ = frozenset({"description"})

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("coaching_sessions.id"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[CoachingSession] = relationship(back_populates="actions", lazy="joined")


class Training(Audited, TenantOwned, db.Model):
    """A collective training with a capacity."""

    __tablename__ = "trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Every enrolment bumps the version, so two concurrent enrolments cannot both take the last seat.
    __mapper_args__ = {"version_id_col": version}

    enrolments: Mapped[list["Enrolment"]] = relationship(back_populates="training", lazy="selectin")


class Enrolment(Audited, TenantOwned, db.Model):
    """A client enrolled in a training; ``attended`` is None until attendance is taken."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("training_id", "client_id",
                                       name="uq_enrolments_training_client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    attended: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    training: Mapped[Training] = relationship(back_populates="enrolments", lazy="joined")
    client: Mapped[Client] = relationship(lazy="joined")
