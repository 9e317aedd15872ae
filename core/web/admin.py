"""An institution admin's pages: the team (invite, disable) and the audit trail."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.models import ROLE_ADMIN
from core.services import accounts, audit, audit_export, second_factor
from core.services.errors import NotFound, ValidationFailed
from core.access import roles_required
from core.web.forms import InviteForm, attach_errors
from core.web import second_factor as second_factor_web
from core.web import audit_labels
from core.web.filters import ACTION_LABELS
from core.web.rendering import render

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(ROLE_ADMIN)
def users():
    form = InviteForm(preferred_language=current_user.preferred_language)
    return render("admin/users.html", users=accounts.users_of_current_institution(),
                  form=form, invitation_link=None, second_factor=second_factor)


@bp.route("/users/invite", methods=["POST"])
@roles_required(ROLE_ADMIN)
def invite():
    form = InviteForm()
    link = None
    status = 422
    if form.validate_on_submit():
        try:
            invitation = accounts.invite_user(
                admin=current_user, email=form.email.data, name=form.name.data,
                role=form.role.data, preferred_language=form.preferred_language.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
        else:
            link = url_for("auth.invitation", token=invitation.token, _external=True)
            flash(_("Invitation created for %(email)s.", email=invitation.user.email), "success")
            form = InviteForm(formdata=None)
            status = 201
    return render("admin/users.html", users=accounts.users_of_current_institution(), form=form,
                  invitation_link=link, status=status, second_factor=second_factor)




@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(ROLE_ADMIN)
def set_active(user_id: int):
    active = request.form.get("active") == "1"
    try:
        user = accounts.set_active(user_id=user_id, active=active, by=current_user)
    except NotFound:
        abort(404)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
        return redirect(url_for("admin.users"))
    flash(_("%(name)s can sign in again.", name=user.name) if active
          else _("%(name)s can no longer sign in.", name=user.name), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/sessions/revoke", methods=["POST"])
@roles_required(ROLE_ADMIN)
def sign_out_everywhere(user_id: int):
    """End every session of a colleague (a lost laptop, a shared computer left signed in)."""
    if user_id == current_user.id:
        abort(404)  # one's own sessions are ended from My account
    try:
        user = accounts.sign_out_everywhere(user_id=user_id, by=current_user)
    except NotFound:
        abort(404)
    flash(_("%(name)s is signed out on every device.", name=user.name), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/second-factor/reset", methods=["POST"])
@roles_required(ROLE_ADMIN)
def reset_second_factor(user_id: int):
    """Remove a colleague's second factor (a lost phone): they set it up again at next sign-in."""
    return second_factor_web.reset_for(user_id, "admin.users")


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@bp.route("/audit")
@roles_required(ROLE_ADMIN)
def audit_trail():
    """The institution's trail, filtered by user, record and dates; newest or oldest first
    (``?sort=at`` / ``-at``); keyset pages."""
    from core.services.sorting import parse_sort
    from core.web.lists import SortLinks

    sort = parse_sort(request.args.get("sort"), AUDIT_SORTS, DEFAULT_AUDIT_SORT)
    before = request.args.get("before", type=int)
    after = request.args.get("after", type=int)
    bad_dates = [n for n in ("since", "until") if request.args.get(n) and _date_arg(n) is None]
    if sort.descending:
        entries = audit.trail(**_trail_filters(), before_id=before, limit=51)
    else:
        entries = audit.trail(**_trail_filters(), after_id=after, limit=51, oldest_first=True)
    more = len(entries) > 50
    entries = entries[:50]
    return render("admin/audit.html", fragment="admin/_audit_rows.html", entries=entries,
                  more=more, users=accounts.users_of_current_institution(), sort=sort,
                  sort_links=SortLinks(sort, "admin.audit_trail"),
                  filters=request.args, bad_dates=bad_dates, audit_record_label=audit_labels.record_label,
                  audit_changes=audit_labels.changes_text, record_types=audit_labels.RECORD_LABELS)


AUDIT_SORTS = ("at",)  # the id follows the time: "at" sorts on it, keyset pages stay exact
DEFAULT_AUDIT_SORT = "-at"


def _trail_filters() -> dict:
    return {"user_id": request.args.get("user", type=int),
            "record_type": request.args.get("record_type") or None,
            "record_id": request.args.get("record_id", type=int),
            "since": _date_arg("since"), "until": _date_arg("until")}


@bp.route("/audit.csv")
@roles_required(ROLE_ADMIN)
def audit_download():
    """The filtered trail (newest 10,000 entries) as a CSV download."""
    entries = audit.trail(**_trail_filters(), limit=audit_export.AUDIT_EXPORT_LIMIT)
    words = audit_export.AuditWords(action=lambda code: str(ACTION_LABELS.get(code, code)),
                                    record=audit_labels.record_label, changes=audit_labels.changes_text)
    response = make_response("\ufeff" + audit_export.to_csv(entries, words))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response
