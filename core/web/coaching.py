"""Coaching pages: the track on a client (phase, sessions, close), enrolment, a coach's agenda,
coaching hours, and collective trainings with attendance."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import clock
from core.models import INSTITUTION_ROLES
from core.services import clients as client_service
from core.services import coaching as service
from core.services.errors import NotFound, ValidationFailed
from core.access import roles_required
from core.web.forms import attach_errors
from core.web.forms_clients import CloseForm, EnrolForm, PhaseForm, SessionForm, TrainingForm, pairs
from core.web.rendering import render

bp = Blueprint("coaching", __name__, url_prefix="/coaching")
STAFF = INSTITUTION_ROLES


def _client_or_404(client_id: int):
    try:
        return client_service.get_client(client_id)
    except NotFound:
        abort(404)


def _coach_choices(form) -> None:
    form.coach_id.choices = pairs((u.id, u.name) for u in client_service.coaches())


def _back(client) -> str:
    return url_for("clients.show", client_id=client.id)


@bp.route("/clients/<int:client_id>/sessions/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_session(client_id: int):
    client = _client_or_404(client_id)
    form = SessionForm()
    _coach_choices(form)
    if request.method == "GET":
        form.coach_id.data = str(current_user.id)
        form.held_on.data = clock.today()
        return render("coaching/session_form.html", form=form, client=client)
    form.validate()
    actions = [service.ActionInput(description=entry.form.description.data or "",
                                   due_on=entry.form.due_on.data) for entry in form.actions]
    try:
        if any(field.errors for field in form if field.name != "actions") or any(
                e.form.due_on.errors for e in form.actions):
            raise ValidationFailed({})
        service.add_session(client.id, coach_id=form.coach_id.data, held_on=form.held_on.data,
                            duration_minutes=form.duration_minutes.data, channel=form.channel.data,
                            topics=form.topics.data, notes=form.notes.data, actions=actions)
    except ValidationFailed as failed:
        for name, message in failed.errors.items():
            if name.startswith("actions-"):
                _ignored, index, field = name.split("-", 2)
                form.actions[int(index)].form[field].errors = [message]
            else:
                attach_errors(form, {name: message})
        return render("coaching/session_form.html", form=form, client=client, status=422)
    return redirect(_back(client) + "#timeline", 303)


@bp.route("/clients/<int:client_id>/phase", methods=["POST"])
@roles_required(*STAFF)
def set_phase(client_id: int):
    client = _client_or_404(client_id)
    form = PhaseForm()
    try:
        service.set_phase(client.id, form.phase.data)
    except ValidationFailed as failed:
        return _fail(client, failed)
    return redirect(_back(client) + "#coaching", 303)


@bp.route("/clients/<int:client_id>/close", methods=["POST"])
@roles_required(*STAFF)
def close(client_id: int):
    client = _client_or_404(client_id)
    form = CloseForm()
    try:
        service.close_track(client.id, final_note=form.final_note.data)
    except ValidationFailed as failed:
        return _fail(client, failed, close_form=form)
    return redirect(_back(client) + "#coaching", 303)


@bp.route("/clients/<int:client_id>/enrol", methods=["POST"])
@roles_required(*STAFF)
def enrol(client_id: int):
    client = _client_or_404(client_id)
    form = EnrolForm()
    try:
        service.enrol(form.training_id.data, client.id)
    except ValidationFailed as failed:
        return _fail(client, failed, enrol_form=form)
    return redirect(_back(client) + "#coaching", 303)


def _fail(client, failed: ValidationFailed, **forms):
    """The client page again, 422, with the errors next to the fields that caused them."""
    from core.web.clients import render_show

    for form in forms.values():
        attach_errors(form, failed.errors)
    general = [str(m) for name, m in failed.errors.items() if not forms or name == ""]
    return render_show(client, status=422, coaching_errors=general, **forms)


@bp.route("/actions/<int:action_id>/done", methods=["POST"])
@roles_required(*STAFF)
def action_done(action_id: int):
    try:
        service.set_action_done(action_id, request.form.get("done") == "1")
    except NotFound:
        abort(404)
    from core.web.auth import _safe_next

    target = request.form.get("next")
    return redirect(_safe_next(target) if target else url_for("coaching.agenda"), 303)


@bp.route("/agenda")
@roles_required(*STAFF)
def agenda():
    """The signed-in coach's agenda (an officer or admin may look at a colleague's)."""
    coach_id = request.args.get("coach", type=int) or current_user.id
    coaches = client_service.coaches()
    if coach_id not in {c.id for c in coaches}:
        coach_id = current_user.id
    return render("coaching/agenda.html", agenda=service.agenda(coach_id), coaches=coaches,
                  coach_id=coach_id, today=clock.today())


def _date_arg(name: str):
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/hours")
@roles_required(*STAFF)
def hours():
    since, until = _date_arg("since"), _date_arg("until")
    coach_id = request.args.get("coach", type=int)
    return render("coaching/hours.html", per_coach=service.hours_per_coach(since, until),
                  per_client=service.hours_per_client(coach_id, since, until),
                  coaches=client_service.coaches(), coach_id=coach_id,
                  since=since, until=until)


@bp.route("/trainings", methods=["GET", "POST"])
@roles_required(*STAFF)
def trainings():
    form = TrainingForm()
    status = 200
    if request.method == "POST":
        form.validate()
        try:
            if any(f.errors for f in form):
                raise ValidationFailed({})
            training = service.create_training(title=form.title.data, starts_on=form.starts_on.data,
                                               ends_on=form.ends_on.data, place=form.place.data,
                                               capacity=form.capacity.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
            status = 422
        else:
            return redirect(url_for("coaching.training", training_id=training.id), 303)
    return render("coaching/trainings.html", trainings=service.trainings(), form=form, status=status)


@bp.route("/trainings/<int:training_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def training(training_id: int):
    """A training's enrolled clients; POST records attendance."""
    try:
        item = service.get_training(training_id)
    except NotFound:
        abort(404)
    if request.method == "POST":
        answers = {e.id: request.form.get(f"attended-{e.id}", "") for e in item.enrolments}
        attended = {ident: value == "1" for ident, value in answers.items() if value in ("0", "1")}
        service.set_attendance(item.id, attended)
        return redirect(url_for("coaching.training", training_id=item.id), 303)
    return render("coaching/training.html", training=item)
