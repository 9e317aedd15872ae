"""The operator's page of federation users (auditors, operators): resetting a second factor."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.access import roles_required
from core.models import ROLE_OPERATOR
from core.services import second_factor
from core.services.errors import NotFound, ValidationFailed
from core.web.rendering import render

bp = Blueprint("operator_users", __name__, url_prefix="/operator")


@bp.route("/users")
@roles_required(ROLE_OPERATOR)
def users():
    return render("operator/users.html", users=second_factor.federation_users(), second_factor=second_factor)


@bp.route("/users/<int:user_id>/second-factor/reset", methods=["POST"])
@roles_required(ROLE_OPERATOR)
def reset_second_factor(user_id: int):
    """Remove a federation user's second factor; they set it up again at their next sign-in."""
    try:
        user = second_factor.reset(user_id=user_id, by=current_user)
    except NotFound:
        abort(404)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
        return redirect(url_for("operator_users.users"))
    flash(_("The second factor of %(name)s is reset: they set it up again at their next sign-in. We sent them a mail.",
            name=user.name), "success")
    return redirect(url_for("operator_users.users"))
