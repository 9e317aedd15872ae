"""The operator's page of federation users (auditors, operators): resetting a second factor."""
from __future__ import annotations

from flask import Blueprint

from core.access import roles_required
from core.models import ROLE_OPERATOR
from core.services import second_factor
from core.web import second_factor as second_factor_web
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
    return second_factor_web.reset_for(user_id, "operator_users.users")
