"""Follow-ups: the entrepreneur's page behind the personal link (public, the token is the
credential), the coach's pages on a client, and the institution's response rates."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user

from core.access import public, roles_required
from core.models import INSTITUTION_ROLES
from core.plugins import slug_for_id
from core.services import clients as client_service
from core.services import followup_questions, followups
from core.services.errors import NotFound, ValidationFailed
from core.services.outbox import mail_locale
from core.web.forms import attach_errors
from core.web.rendering import render
from core.web.typed_forms import declared_fields, form_for, raw_values

bp = Blueprint("followups", __name__)

REFUSALS = {
    "invalid": (404, _l("This link is not valid. Check that you opened the whole link from the mail.")),
    "expired": (410, _l("This link has expired. Your coach can take your answers by phone.")),
    "used": (410, _l("This link was already used: your answers have been received. Thank you.")),
}
ANSWERED_BY = {"entrepreneur": _l("by the entrepreneur (link)"), "coach": _l("by the coach"),
               "import": _l("imported")}
STATUSES = {"due": _l("due"), "invited": _l("invited by mail"), "answered": _l("answered")}


def _questions(institution_id: int):
    return followup_questions.questions(slug_for_id(institution_id))


def _in_language(language: str | None) -> None:
    if language:
        g.page_locale = mail_locale(language)
        refresh()


def _refused(refused: followups.LinkRefused):
    _in_language(refused.language)
    reason = refused.reason
    status, message = REFUSALS[reason]
    return render("followups/refused.html", message=message, reason=reason, status=status)


@bp.route("/followup/<token>", methods=["GET", "POST"])
@public
def answer(token: str):
    """The questionnaire behind a personal link, in the client's language; one use."""
    try:
        followup = followups.by_token(token)
    except followups.LinkRefused as refused:
        return _refused(refused)
    client = followups.client_of(followup)
    _in_language(client.preferred_language)
    asked = _questions(followup.institution_id)
    form = form_for(asked, formdata=request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                followups.answer_by_link(token, raw_values(form))
                return render("followups/thanks.html")
            except followups.LinkRefused as refused:
                return _refused(refused)
            except ValidationFailed as failed:
                attach_errors(form, failed.errors)
        status = 422
    return render("followups/answer.html", form=form, fields=declared_fields(form), followup=followup,
                  first_name=client.first_name, status=status)


def _client_or_404(client_id: int):
    try:
        return client_service.get_client(client_id)
    except NotFound:
        abort(404)


@bp.route("/clients/<int:client_id>/followups")
@roles_required(*INSTITUTION_ROLES)
def of_client(client_id: int):
    """A client's follow-ups: when due, whether invited, answered and how."""
    client = _client_or_404(client_id)
    return render("followups/client.html", client=client, followups=followups.followups_of(client.id),
                  consenting=followups.has_consent(client.id), statuses=STATUSES, answered_by=ANSWERED_BY)


@bp.route("/clients/<int:client_id>/followups/<int:followup_id>", methods=["GET", "POST"])
@roles_required(*INSTITUTION_ROLES)
def record(client_id: int, followup_id: int):
    """The coach records (or corrects) the answers taken after a call."""
    client = _client_or_404(client_id)
    try:
        followup = followups.get(client.id, followup_id)
    except NotFound:
        abort(404)
    asked = _questions(followup.institution_id)
    posted = request.method == "POST"
    form = form_for(asked, values=followup_questions.as_raw(followup), formdata=request.form if posted else None)
    status = 200
    if posted:
        if form.validate():
            try:
                followups.record_by_coach(client.id, followup.id, raw_values(form), user=current_user)
                flash(_("The follow-up answers are recorded."), "success")
                return redirect(url_for("followups.of_client", client_id=client.id))
            except ValidationFailed as failed:
                attach_errors(form, failed.errors)
        status = 422
    return render("followups/record.html", client=client, followup=followup, form=form,
                  fields=declared_fields(form), status=status)


@bp.route("/followups")
@roles_required(*INSTITUTION_ROLES)
def rates():
    """The institution's response rates, per interval."""
    return render("followups/rates.html", rates=followups.response_rates(), intervals=followups.intervals())
