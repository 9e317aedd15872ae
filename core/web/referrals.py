"""The institution's referral inbox, and the federation's anonymous referral funnel."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import clock
from core.models import ROLE_ADMIN, ROLE_AUDITOR, ROLE_COACH, ROLE_OFFICER, ROLE_OPERATOR
from core.services import referral_funnel, referrals
from core.services.errors import NotFound, ValidationFailed
from core.access import roles_required
from core.web.rendering import render

bp = Blueprint("referrals", __name__, url_prefix="/referrals")
federation_bp = Blueprint("referral_funnel", __name__, url_prefix="/federation/referrals")
STAFF = (ROLE_ADMIN, ROLE_OFFICER, ROLE_COACH)
DECIDERS = (ROLE_ADMIN, ROLE_OFFICER)


@bp.route("/")
@roles_required(*STAFF)
def inbox():
    from core.services.sorting import parse_sort
    from core.web.lists import SortLinks

    show_closed = request.args.get("closed") == "1"
    sort = parse_sort(request.args.get("sort"), referrals.INBOX_SORTS, referrals.DEFAULT_INBOX_SORT)
    return render("referrals/inbox.html", fragment="referrals/_inbox_rows.html",
                  offers=referrals.inbox(include_closed=show_closed, sort=sort), today=clock.today(),
                  show_closed=show_closed, identity_states=referrals.IDENTITY_STATES, sort=sort,
                  sort_links=SortLinks(sort, "referrals.inbox"))


def _offer_or_404(offer_id: int):
    try:
        return referrals.offer(offer_id)
    except NotFound:
        abort(404)


@bp.route("/<int:offer_id>")
@roles_required(*STAFF)
def show(offer_id: int):
    try:
        found = referrals.view_offer(offer_id)
    except NotFound:
        abort(404)
    return _show_page(found, errors={})


def _show_page(found, *, errors: dict, status: int = 200):
    return render("referrals/show.html", offer=found, referral=found.referral, errors=errors,
                  identity_visible=referrals.identity_visible(found),
                  contact_visible=referrals.contact_visible(found),
                  decline_reasons=referrals.DECLINE_REASONS,
                  not_financed_reasons=referrals.NOT_FINANCED_REASONS, form=request.form,
                  today=clock.today(), status=status)


def _act(offer_id: int, action, success: str):
    _offer_or_404(offer_id)
    try:
        action()
    except ValidationFailed as failed:
        return _show_page(_offer_or_404(offer_id), errors=failed.errors, status=422)
    flash(success, "success")
    return redirect(url_for("referrals.show", offer_id=offer_id))


def _date_field(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


@bp.route("/<int:offer_id>/accept", methods=["POST"])
@roles_required(*DECIDERS)
def accept(offer_id: int):
    return _act(offer_id, lambda: referrals.accept(offer_id, notes=request.form.get("notes") or None,
                                                   user=current_user),
                _("You took this referral. Contact the applicant before the deadline."))


@bp.route("/<int:offer_id>/decline", methods=["POST"])
@roles_required(*DECIDERS)
def decline(offer_id: int):
    return _act(offer_id, lambda: referrals.decline(offer_id, reason=request.form.get("reason", "")),
                _("Declined. The registry offers the referral to the next institution that fits."))


@bp.route("/<int:offer_id>/contact", methods=["POST"])
@roles_required(*STAFF)
def contact(offer_id: int):
    def record():
        when = _date_field("contacted_on")
        if when is None:
            raise ValidationFailed({"contacted_on": _("Give a date between the referral and today.")})
        referrals.record_contact(offer_id, contacted_on=when)

    return _act(offer_id, record, _("First contact recorded."))


@bp.route("/<int:offer_id>/outcome", methods=["POST"])
@roles_required(*DECIDERS)
def outcome(offer_id: int):
    return _act(offer_id, lambda: referrals.record_outcome(
        offer_id, outcome=request.form.get("outcome", ""), reason=request.form.get("reason") or None,
        disbursed_on=_date_field("disbursed_on")), _("Outcome recorded; the referrer is told."))


@federation_bp.route("/duty-to-inform")
@roles_required(ROLE_AUDITOR, ROLE_OPERATOR)
def duty_to_inform():
    """Per referrer: refused applicants referred by API, portal or its own link, and their outcome."""
    return render("referrals/duty_to_inform.html", rows=referral_funnel.duty_to_inform(),
                  outcomes=referral_funnel.OUTCOMES)


@federation_bp.route("/")
@roles_required(ROLE_AUDITOR, ROLE_OPERATOR)
def funnel():
    dimension = request.args.get("by", "referrer")
    if dimension not in referral_funnel.DIMENSIONS:
        abort(404)
    return render("referrals/funnel.html", rows=referral_funnel.funnel(dimension), dimension=dimension,
                  dimensions=referral_funnel.DIMENSIONS)
