"""The search box in the header: clients, loans and referrals of the user's institution, grouped."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from core.models import INSTITUTION_ROLES
from core.access import roles_required
from core.services import referrals
from core.services import search as search_service
from core.web.rendering import render

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.route("/")
@roles_required(*INSTITUTION_ROLES)
def results():
    found = search_service.search(request.args.get("q", ""), user=current_user)
    return render("search/results.html", found=found, min_length=search_service.MIN_LENGTH,
                  identity_states=referrals.IDENTITY_STATES)
