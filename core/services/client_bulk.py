"""Bulk actions on a selection of the client list: assign a coach, enrol in a training, export
the selection (CSV or XLSX, cells neutralised against formulas like the list export).

Every action checks the whole selection first: an empty selection, a client not of the current
institution (tenancy makes it not found), a coach or training of another institution are refused
with nothing written. The changes are one transaction; each client's change is in the audit trail
(the row updates, enrolments and an ``list-export`` entry per exported client).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from core import tenancy
from core.extensions import db
from core.models import ROLE_ADMIN, ROLE_COACH, ROLE_OFFICER, User
from core.models.coaching import Enrolment, Training
from core.models.people import Client
from core.models.types import utcnow
from core.plugin_api import Event
from core.plugins import emit
from core.services import audit
from core.services.clients import _export_row, write_export
from core.services.errors import ValidationFailed

#: at most this many clients in one action (a few pages of the list)
MAX_SELECTION = 500
ACTIONS = ("assign_coach", "enrol", "export")


@dataclass
class BulkResult:
    changed: int
    skipped: int = 0


def selected_clients(raw_ids) -> list[Client]:
    """The clients of the selection, in the order given; ``ValidationFailed`` for an empty or
    too large selection, or any id that is not a client of the current institution."""
    ids: list[int] = []
    for raw in raw_ids or ():
        text = str(raw).strip()
        if not text.isdigit():
            raise ValidationFailed({"ids": _l("The selection holds something that is not a client: "
                                              "nothing was changed.")})
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise ValidationFailed({"ids": _l("Select at least one client first: nothing was changed.")})
    if len(ids) > MAX_SELECTION:
        raise ValidationFailed({"ids": lazy_ngettext(
            "Select at most %(num)d client at once: nothing was changed.",
            "Select at most %(num)d clients at once: nothing was changed.", MAX_SELECTION)})
    found = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_(ids)))}
    missing = len(ids) - len(found)
    if missing:
        raise ValidationFailed({"ids": lazy_ngettext(
            "%(num)d selected client is not a client of your institution: nothing was changed.",
            "%(num)d selected clients are not clients of your institution: nothing was changed.",
            missing)})
    return [found[i] for i in ids]


def _coach(coach_id) -> User:
    try:
        coach = tenancy.get(User, int(coach_id))
    except (TypeError, ValueError):
        coach = None
    if coach is None or not coach.active or coach.role not in (ROLE_COACH, ROLE_OFFICER, ROLE_ADMIN):
        raise ValidationFailed({"coach_id": _l("Choose a coach of your institution.")})
    return coach


def assign_coach(raw_ids, coach_id, *, user) -> tuple[BulkResult, User]:
    """Make ``coach_id`` the coach of every selected client (those who have them already are
    left as they are and counted as skipped)."""
    clients = selected_clients(raw_ids)
    coach = _coach(coach_id)
    changed = [c for c in clients if c.coach_id != coach.id]
    for client in changed:
        client.coach_id = coach.id
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise ValidationFailed({"ids": _l("Someone else changed one of these clients meanwhile: "
                                          "nothing was changed, reload and try again.")}) from None
    for client in changed:
        emit(Event("client.updated", client.institution_id, {"client_id": client.id}))
    return BulkResult(len(changed), len(clients) - len(changed)), coach


def enrol(raw_ids, training_id, *, user) -> tuple[BulkResult, Training]:
    """Enrol every selected client in the training; those enrolled already are skipped. Refused
    whole when the training has fewer free places than clients to enrol."""
    clients = selected_clients(raw_ids)
    try:
        training = tenancy.get(Training, int(training_id))
    except (TypeError, ValueError):
        training = None
    if training is None:
        raise ValidationFailed({"training_id": _l("Choose a training of your institution.")})
    enrolled = {e.client_id for e in training.enrolments}
    new = [c for c in clients if c.id not in enrolled]
    free = training.capacity - len(enrolled)
    if len(new) > free:
        raise ValidationFailed({"training_id": lazy_ngettext(
            "The training has %(num)d free place left, fewer than the clients to enrol: nothing was changed.",
            "The training has %(num)d free places left, fewer than the clients to enrol: nothing was changed.",
            max(free, 0))})
    for client in new:
        db.session.add(Enrolment(training_id=training.id, client_id=client.id))
    if new:
        from core.services.coaching import commit_enrolments

        commit_enrolments(training)
    return BulkResult(len(new), len(clients) - len(new)), training


def export(raw_ids, fmt: str, *, user) -> tuple[bytes, str, str, int]:
    """(content, mimetype, file name, count) of the selected clients as CSV or XLSX, in the order
    selected; each exported client gets a ``list-export`` entry in the audit trail."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": _l("Choose CSV or XLSX.")})
    clients = selected_clients(raw_ids)
    for client in clients:
        audit.record("list-export", client, {"format": fmt})
    db.session.commit()
    name = f"clients-selection-{utcnow():%Y%m%d-%H%M}.{fmt}"
    stored = [[str(value) for value in _export_row(c)] for c in clients]  # as the list export stores them
    content, mimetype = write_export(fmt, stored)
    return content, mimetype, name, len(clients)
