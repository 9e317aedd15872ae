"""The public self-referral pages (no sign-in): ``/refer``, a referrer's ``/refer/<code>``, and the
confirmation link mailed to the entrepreneur. In nl, fr, en and de (``?lang=``)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, request, session
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_limiter.util import get_remote_address

from core.access import public
from core.config import LANGUAGES, SELF_REFERRAL_LANGUAGES
from core.extensions import limiter
from core.services import self_referrals
from core.services.errors import NotFound, ValidationFailed
from core.web.forms_refer import ConfirmForm, SelfReferralForm
from core.web.money_fields import field_errors_only
from core.web.rendering import render

bp = Blueprint("refer", __name__, url_prefix="/refer")

REFUSALS = {
    "invalid": (404, _l("This link is not valid. Check that you opened the whole link from the mail.")),
    "expired": (410, _l("This link has expired. Fill in the form again: we send you a new one.")),
    "used": (410, _l("This link was already used: your request has been passed on.")),
}


def page_language() -> str:
    """``?lang=`` (nl, fr, en or de), else the language chosen in the session, else the browser's."""
    asked = request.args.get("lang", "")
    if asked in SELF_REFERRAL_LANGUAGES:
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(SELF_REFERRAL_LANGUAGES) or "en"


@bp.before_request
def _use_page_language():
    g.page_locale = page_language()
    refresh()  # forget a language computed earlier in this request


def _rate_limit() -> str:
    return current_app.config.get("MICROFIN_SELF_REFERRAL_RATE_LIMIT", "10/hour")


def _form_page(referrer):
    form = SelfReferralForm()
    if request.method == "GET":
        form.language.data = g.page_locale
        return render("refer/form.html", form=form, referrer=referrer)
    if form.website.data:  # the honeypot was filled: a bot; the same answer, nothing stored
        return render("refer/sent.html", referrer=referrer)
    parsed = form.validate_on_submit()
    if parsed or field_errors_only(form):
        try:
            if parsed:
                self_referrals.ask(form.fields(), language=g.page_locale, referrer=referrer)
                return render("refer/sent.html", referrer=referrer)
            self_referrals.validate(form.fields())  # to name every wrong field at once
        except ValidationFailed as failed:
            _show_errors(form, failed.errors)
    return render("refer/form.html", form=form, referrer=referrer, status=422)


def _show_errors(form: SelfReferralForm, errors: dict) -> None:
    """The service's errors next to their fields (a field that could not be read keeps its own)."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.append(str(message))
        elif not field.errors:
            field.errors = [str(message)]


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_rate_limit, key_func=get_remote_address, methods=["POST"])
@public
def start():
    """The self-referral form for anyone (counted under the built-in "Self-referral" referrer)."""
    return _form_page(None)


@bp.route("/<code>", methods=["GET", "POST"])
@limiter.limit(_rate_limit, key_func=get_remote_address, methods=["POST"])
@public
def form(code: str):
    """The form through a referrer's own link (printed on its refusal letters)."""
    try:
        referrer = self_referrals.by_link_code(code)
    except NotFound:
        return render("refer/refused.html", message=_l("This link is not known. Check the address on your letter."),
                      status=404)
    return _form_page(referrer)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@public
def confirm(token: str):
    """GET shows a button; only its POST confirms the address and passes the request on."""
    try:
        pending = self_referrals.check_token(token)
        form = ConfirmForm()
        if form.validate_on_submit():
            referral = self_referrals.confirm(token)
            return render("refer/confirmed.html", outcome=self_referrals.outcome(referral, g.page_locale))
    except self_referrals.ConfirmRefused as refused:
        status, message = REFUSALS[refused.reason]
        return render("refer/refused.html", message=message, reason=refused.reason, status=status)
    return render("refer/confirm.html", form=form, pending=pending,
                  status=422 if request.method == "POST" else 200)
