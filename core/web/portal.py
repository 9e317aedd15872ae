"""The advisers' portal under ``/portal/``: for banks and public financiers without an IT integration.

An adviser (role ``referrer``) refers an applicant through a form with the API's rules, prints the
consent form the applicant signs (nl, fr, en), and follows the organisation's referrals: status,
institution and stages as the referrer API shows them, nothing else of the application. These
pages are the only ones a portal user may open.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user

from core.access import roles_required
from core.api.schemas import CONSENT_SCOPES
from core.config import LANGUAGES
from core.models import ROLE_REFERRER
from core.services import portal
from core.services.errors import NotFound, ValidationFailed
from core.web.forms import attach_errors
from core.web.forms_portal import PortalReferralForm
from core.web.money_fields import field_errors_only
from core.web.rendering import render
from core.web import select_locale

bp = Blueprint("portal", __name__, url_prefix="/portal")

#: what the applicant agrees to on the printed form, one sentence per consent scope of the API
CONSENT_CLAUSES = {
    "share_with_mfi": _l("I agree that %(referrer)s passes the data on this form and on my request to the "
                         "registry of Belgium's microfinance institutions, which keeps them and passes them to "
                         "one microfinance institution that may finance my project."),
    "contact": _l("I agree that this microfinance institution contacts me about my request, by e-mail or "
                  "by phone."),
    "impact_survey": _l("I also agree to be asked later to answer a short survey about what became of my "
                        "project (optional)."),
}
REQUIRED_CLAUSES = portal.REQUIRED_SCOPES
#: the stages of a referral as the referrer API names them, in their order
STAGES = (("received_at", _l("Received")), ("offered_at", _l("Offered to an institution")),
          ("accepted_at", _l("Taken by the institution")), ("first_contact_at", _l("Applicant contacted")),
          ("decided_at", _l("Decided")), ("disbursed_at", _l("Loan disbursed")), ("closed_at", _l("Closed")))
STATUS_LABELS = {
    "received": _l("received"), "offered": _l("offered to an institution"), "accepted": _l("taken"),
    "contacted": _l("applicant contacted"), "financed": _l("financed"), "not_financed": _l("not financed"),
    "withdrawn": _l("consent withdrawn"), "no_match": _l("no institution could take it"),
    "linked": _l("already had an open case"),
}
#: reason codes the registry itself gives (the institutions' decline reasons have their labels)
OUTCOME_LABELS = {
    "already_open": _l("the applicant already had an open case"),
    "no_institution_accepts": _l("no institution finances this request"),
    "consent_withdrawn": _l("the applicant withdrew consent"),
    "applicant_withdrew": _l("the applicant gave up"),
    "deadline_passed": _l("the institution did not answer in time"),
    "needs_info": _l("more information was needed"),
}


def _referrer_or_404():
    try:
        return portal.referrer_of(current_user)
    except NotFound:
        abort(404)


@bp.route("/")
@roles_required(ROLE_REFERRER)
def index():
    """The organisation's referrals, newest first, in pages of 50."""
    referrer = _referrer_or_404()
    before = request.args.get("before", type=int)
    rows, more = portal.organisation_referrals(current_user, before_id=before, language=select_locale())
    return render("portal/index.html", referrer=referrer, rows=rows, more=more,
                  status_labels=STATUS_LABELS, outcome_labels=OUTCOME_LABELS)


@bp.route("/refer", methods=["GET", "POST"])
@roles_required(ROLE_REFERRER)
def refer():
    """Refer an applicant: the API's fields and rules, the consent attested by the adviser."""
    referrer = _referrer_or_404()
    form = PortalReferralForm()
    if request.method == "GET":
        form.language.data = select_locale()
        return render("portal/refer.html", form=form, referrer=referrer)
    parsed = form.validate_on_submit()
    if parsed or field_errors_only(form):
        try:
            if parsed:
                answer = portal.refer(current_user, form.fields(), form_key=form.form_key.data)
                flash(_("Referral %(reference)s sent: %(status)s.", reference=answer["external_reference"],
                        status=STATUS_LABELS.get(answer["status"], answer["status"])), "success")
                return redirect(url_for("portal.show", referral_id=answer["id"]))
            portal.validate(form.fields())  # to name every wrong field at once
        except ValidationFailed as failed:
            _show_errors(form, failed.errors)
    return render("portal/refer.html", form=form, referrer=referrer, status=422)


def _show_errors(form: PortalReferralForm, errors: dict) -> None:
    """The service's errors next to their fields (a field that could not be read keeps its own)."""
    fields_only = {name: message for name, message in errors.items()
                   if not (name in form._fields and form._fields[name].errors)}
    attach_errors(form, fields_only)


@bp.route("/referrals/<int(max=2147483647):referral_id>")
@roles_required(ROLE_REFERRER)
def show(referral_id: int):
    """One referral of the organisation: its status, institution and stages (another's: 404)."""
    referrer = _referrer_or_404()
    try:
        view = portal.organisation_referral(current_user, referral_id, language=select_locale())
    except NotFound:
        abort(404)
    return render("portal/show.html", referrer=referrer, referral=view, stages=STAGES,
                  status_labels=STATUS_LABELS, outcome_labels=OUTCOME_LABELS)


@bp.route("/consent-form")
@roles_required(ROLE_REFERRER)
def consent_form():
    """The consent form to print and have the applicant sign, in ``?lang=`` nl, fr or en."""
    referrer = _referrer_or_404()
    language = request.args.get("lang", "")
    if language not in LANGUAGES:
        language = select_locale()
    g.page_locale = language
    refresh()
    return render("portal/consent_form.html", referrer=referrer, clauses=[
        (scope, CONSENT_CLAUSES[scope], scope in REQUIRED_CLAUSES) for scope in CONSENT_SCOPES],
        form_language=language)
