"""The operator's view of ``microfin worker``: each scheduled chore's last run and result."""
from __future__ import annotations

from flask import Blueprint

from core.access import roles_required
from core.models import ROLE_OPERATOR
from core.services import chores
from core.web.rendering import render

bp = Blueprint("operator_worker", __name__, url_prefix="/operator")


@bp.route("/worker")
@roles_required(ROLE_OPERATOR)
def worker():
    return render("operator/worker.html", chores=chores.CHORES, last=chores.last_runs())
