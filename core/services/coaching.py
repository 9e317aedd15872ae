"""Coaching: tracks with phases, sessions with agreed actions, trainings, agendas and hours."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from core import clock
from core import tenancy
from core.extensions import db
from core.models import ROLE_ADMIN, ROLE_COACH, ROLE_OFFICER, User
from core.models.coaching import (
    CHANNELS, PHASES, AgreedAction, CoachingSession, CoachingTrack, Enrolment, Training,
)
from core.models.people import Client
from core.models.types import utcnow
from core.plugin_api import Event
from core.plugins import emit
from core.services import timeline
from core.services.clients import get_client
from core.services.errors import NotFound, ValidationFailed

MAX_SESSION_MINUTES = 8 * 60


class TrainingFull(Exception):
    """No seat is left in the training."""


# --- tracks -----------------------------------------------------------------------------------

def track_of(client_id: int) -> CoachingTrack | None:
    return db.session.scalar(select(CoachingTrack).where(CoachingTrack.client_id == client_id))


def open_track(client_id: int) -> CoachingTrack:
    """The client's coaching track, opened (phase "before the loan") if it has none yet."""
    client = get_client(client_id)
    track = track_of(client.id)
    if track is None:
        track = CoachingTrack(client_id=client.id, phase="before_loan", status="open")
        db.session.add(track)
        db.session.commit()
        emit(Event("coaching.opened", client.institution_id, {"client_id": client.id}))
    return track


def set_phase(client_id: int, phase: str) -> CoachingTrack:
    """Move an open track to another phase."""
    track = _open_track_or_error(client_id)
    if phase not in PHASES:
        raise ValidationFailed({"phase": _l("Choose a phase from the list.")})
    track.phase = phase
    db.session.commit()
    return track


def _open_track_or_error(client_id: int) -> CoachingTrack:
    get_client(client_id)
    track = track_of(client_id)
    if track is None:
        track = open_track(client_id)
    if track.status != "open":
        raise ValidationFailed({"": _l("The coaching of this client is closed.")})
    return track


def close_track(client_id: int, *, final_note: str, reason: str = "manual") -> CoachingTrack:
    """Close the coaching with a final note (by hand, or when the loan is repaid)."""
    track = track_of(get_client(client_id).id)
    if track is None or track.status != "open":
        raise ValidationFailed({"": _l("There is no open coaching to close.")})
    note = (final_note or "").strip()
    if reason == "manual" and not note:
        raise ValidationFailed({"final_note": _l("Write a final note to close the coaching.")})
    if reason == "manual" and _has_loan_outstanding(client_id):
        raise ValidationFailed({"": _l("Coaching stays open while the client has a loan outstanding.")})
    track.status, track.close_reason, track.final_note = "closed", reason, note or None
    track.closed_at = utcnow()
    db.session.commit()
    emit(Event("coaching.closed", track.institution_id, {"client_id": client_id, "reason": reason}))
    return track


def _has_loan_outstanding(client_id: int) -> bool:
    from core.models.lending import Loan

    return db.session.scalar(select(Loan.id).where(Loan.client_id == client_id, Loan.status == "active")
                             .limit(1)) is not None


def close_on_repayment(client_id: int) -> CoachingTrack | None:
    """``loan.repaid``: close the client's open coaching once no loan is outstanding."""
    track = track_of(client_id)
    if track is None or track.status != "open" or _has_loan_outstanding(client_id):
        return None
    return close_track(client_id, final_note="", reason="loan_repaid")


# --- sessions and actions -----------------------------------------------------------------------

@dataclass
class ActionInput:
    description: str
    due_on: date | None


def _coach(coach_id) -> User | None:
    try:
        coach = tenancy.get(User, int(coach_id))
    except (TypeError, ValueError):
        return None
    if coach is None or not coach.active or coach.role not in (ROLE_COACH, ROLE_OFFICER, ROLE_ADMIN):
        return None
    return coach


def add_session(client_id: int, *, coach_id, held_on, duration_minutes, channel: str, topics: str,
                notes: str = "", actions: list[ActionInput] = ()) -> CoachingSession:
    """Record a coaching session (a future date plans it) with its agreed actions."""
    client = get_client(client_id)
    errors = {}
    coach = _coach(coach_id)
    if coach is None:
        errors["coach_id"] = _l("Choose a coach of your institution.")
    if not isinstance(held_on, date):
        errors["held_on"] = _l("Enter the date of the session.")
    if not isinstance(duration_minutes, int) or not 1 <= duration_minutes <= MAX_SESSION_MINUTES:
        errors["duration_minutes"] = _l("Enter a duration between 1 and 480 minutes.")
    if channel not in CHANNELS:
        errors["channel"] = _l("Choose how the session took place.")
    topics = (topics or "").strip()
    if not topics:
        errors["topics"] = _l("Write the topics discussed.")
    for index, action in enumerate(actions):
        if action.description.strip() and not isinstance(action.due_on, date):
            errors[f"actions-{index}-due_on"] = _l("Give the action a due date.")
    if errors:
        raise ValidationFailed(errors)
    track = track_of(client.id)
    if track is not None and track.status != "open":
        raise ValidationFailed({"": _l("The coaching of this client is closed.")})
    if track is None:
        track = CoachingTrack(client_id=client.id, phase="before_loan", status="open")
        db.session.add(track)
        db.session.flush()
    session = CoachingSession(track_id=track.id, client_id=client.id, coach_id=coach.id,
                              held_on=held_on, duration_minutes=duration_minutes, channel=channel,
                              topics=topics[:300], notes=(notes or "").strip() or None)
    session.actions = [AgreedAction(description=a.description.strip()[:300], due_on=a.due_on, done=False)
                       for a in actions if a.description.strip()]
    db.session.add(session)
    db.session.commit()
    emit(Event("coaching.session_added", client.institution_id,
               {"client_id": client.id, "session_id": session.id}))
    return session


def sessions_of(client_id: int) -> list[CoachingSession]:
    return list(db.session.scalars(select(CoachingSession).where(CoachingSession.client_id == client_id)
                                   .order_by(CoachingSession.held_on.desc(), CoachingSession.id.desc())))


def actions_of(client_id: int) -> list[AgreedAction]:
    """The client's agreed actions: open ones first, by due date."""
    actions = db.session.scalars(
        select(AgreedAction).join(CoachingSession, AgreedAction.session_id == CoachingSession.id)
        .where(CoachingSession.client_id == client_id).order_by(AgreedAction.due_on).limit(200))
    return sorted(actions, key=lambda a: (a.done, a.due_on))


def set_action_done(action_id: int, done: bool) -> AgreedAction:
    """Mark an agreed action done or not done."""
    action = tenancy.get(AgreedAction, action_id)
    if action is None:
        raise NotFound()
    action.done = done
    action.done_at = utcnow() if done else None
    db.session.commit()
    return action


@dataclass
class Agenda:
    upcoming: list[CoachingSession]
    overdue: list[AgreedAction]


def agenda(coach_id: int, today: date | None = None) -> Agenda:
    """A coach's sessions from today on, and the not-done actions past their due date."""
    today = today or clock.today()
    upcoming = db.session.scalars(
        select(CoachingSession).where(CoachingSession.coach_id == coach_id,
                                      CoachingSession.held_on >= today)
        .order_by(CoachingSession.held_on, CoachingSession.id).limit(200))
    overdue = db.session.scalars(
        select(AgreedAction).join(CoachingSession, AgreedAction.session_id == CoachingSession.id)
        .where(CoachingSession.coach_id == coach_id, AgreedAction.done.is_(False),
               AgreedAction.due_on < today)
        .order_by(AgreedAction.due_on, AgreedAction.id).limit(200))
    return Agenda(upcoming=list(upcoming), overdue=list(overdue))


def hours_per_coach(since: date | None = None, until: date | None = None) -> list[tuple[User, int, int]]:
    """(coach, sessions, minutes) of held sessions in the period, most minutes first."""
    query = (select(CoachingSession.coach_id, func.count(), func.sum(CoachingSession.duration_minutes))
             .where(CoachingSession.held_on <= (until or clock.today()))
             .group_by(CoachingSession.coach_id))
    if since:
        query = query.where(CoachingSession.held_on >= since)
    rows = db.session.execute(query).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r[0] for r in rows])))}
    result = [(users[r[0]], r[1], int(r[2] or 0)) for r in rows if r[0] in users]
    return sorted(result, key=lambda item: (-item[2], item[0].name))


def hours_per_client(coach_id: int | None = None, since: date | None = None,
                     until: date | None = None) -> list[tuple[Client, int, int]]:
    """(client, sessions, minutes) of held sessions in the period, optionally of one coach."""
    query = (select(CoachingSession.client_id, func.count(), func.sum(CoachingSession.duration_minutes))
             .where(CoachingSession.held_on <= (until or clock.today()))
             .group_by(CoachingSession.client_id))
    if since:
        query = query.where(CoachingSession.held_on >= since)
    if coach_id:
        query = query.where(CoachingSession.coach_id == coach_id)
    rows = db.session.execute(query.order_by(func.sum(CoachingSession.duration_minutes).desc())
                              .limit(500)).all()
    clients = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_([r[0] for r in rows])))}
    return [(clients[r[0]], r[1], int(r[2] or 0)) for r in rows if r[0] in clients]


# --- trainings --------------------------------------------------------------------------------

def trainings(upcoming_only: bool = False) -> list[Training]:
    query = select(Training).order_by(Training.starts_on.desc(), Training.id.desc()).limit(200)
    if upcoming_only:
        query = query.where(Training.ends_on >= clock.today())
    return list(db.session.scalars(query))


def get_training(training_id: int) -> Training:
    training = tenancy.get(Training, training_id)
    if training is None:
        raise NotFound()
    return training


def create_training(*, title: str, starts_on, ends_on, place: str, capacity) -> Training:
    """Plan a collective training."""
    errors = {}
    title, place = (title or "").strip(), (place or "").strip()
    if not title:
        errors["title"] = _l("Give the training a title.")
    if not place:
        errors["place"] = _l("Say where the training takes place.")
    if not isinstance(starts_on, date):
        errors["starts_on"] = _l("Enter the first day.")
    if not isinstance(ends_on, date):
        errors["ends_on"] = _l("Enter the last day.")
    elif isinstance(starts_on, date) and ends_on < starts_on:
        errors["ends_on"] = _l("The last day cannot be before the first.")
    if not isinstance(capacity, int) or not 1 <= capacity <= 500:
        errors["capacity"] = _l("Enter a capacity between 1 and 500.")
    if errors:
        raise ValidationFailed(errors)
    training = Training(title=title[:200], starts_on=starts_on, ends_on=ends_on, place=place[:200],
                        capacity=capacity)
    db.session.add(training)
    db.session.commit()
    return training


def enrol(training_id, client_id: int) -> Enrolment:
    """Enrol a client; ``ValidationFailed`` when the training is full or the client is in already.

    The training's version is bumped with every enrolment, so two people taking the last seat
    at the same moment cannot both succeed.
    """
    client = get_client(client_id)
    try:
        training = get_training(int(training_id))
    except (TypeError, ValueError, NotFound):
        raise ValidationFailed({"training_id": _l("Choose a training of your institution.")}) from None
    if any(e.client_id == client.id for e in training.enrolments):
        raise ValidationFailed({"training_id": _l("This client is already enrolled.")})
    if len(training.enrolments) >= training.capacity:
        raise ValidationFailed({"training_id": lazy_ngettext(
            "The training is full (%(num)d place).", "The training is full (%(num)d places).",
            training.capacity)})
    enrolment = Enrolment(training_id=training.id, client_id=client.id)
    db.session.add(enrolment)
    commit_enrolments(training)
    return enrolment


def commit_enrolments(training: Training) -> None:
    """Commit the enrolments added to ``training``, checked against its version: should someone
    else have enrolled meanwhile (capacity), nothing is written and the answer says to retry."""
    _bump(training)
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise ValidationFailed({"training_id": _l("Someone else just enrolled: reload and try again.")}) from None


def _bump(training: Training) -> None:
    """Touch the training so the flush issues ``UPDATE … WHERE version = :seen``."""
    from sqlalchemy.orm.attributes import flag_modified

    flag_modified(training, "capacity")


def set_attendance(training_id: int, attended: dict[int, bool]) -> Training:
    """Record who attended (``{enrolment id: True/False}``)."""
    training = get_training(training_id)
    for enrolment in training.enrolments:
        if enrolment.id in attended:
            enrolment.attended = attended[enrolment.id]
    db.session.commit()
    return training


def trainings_of(client_id: int) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.client_id == client_id)))


# --- timeline sources -------------------------------------------------------------------------

CHANNEL_LABELS = {"in_person": _l("in person"), "phone": _l("by phone"), "video": _l("by video"),
                  "email": _l("by e-mail")}


@timeline.source("coaching_sessions")
def _session_entries(client) -> list[timeline.TimelineEntry]:
    entries = []
    for session in sessions_of(client.id)[:100]:
        body = session.topics + (f"\n{session.notes}" if session.notes else "")
        entries.append(timeline.TimelineEntry(
            at=session.held_on, kind="session",
            title=_("Coaching session, %(minutes)d min, %(channel)s", minutes=session.duration_minutes,
                    channel=CHANNEL_LABELS.get(session.channel, session.channel)),
            body=body, author=session.coach.name))
    track = track_of(client.id)
    if track is not None and track.status == "closed":
        entries.append(timeline.TimelineEntry(at=track.closed_at, kind="coaching",
                                              title=_("Coaching closed"), body=track.final_note or ""))
    return entries


@timeline.source("trainings")
def _training_entries(client) -> list[timeline.TimelineEntry]:
    return [timeline.TimelineEntry(at=e.training.starts_on, kind="training",
                                   title=_("Training: %(title)s", title=e.training.title),
                                   body=e.training.place) for e in trainings_of(client.id)]
