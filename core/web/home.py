"""The home page: the user's institution and what they can do next."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.config import LANGUAGES
from core.extensions import db
from core.models import ROLES
from core.services import todo
from core.services.institutions import enabled_institutions
from core.access import public, roles_required
from core.web.rendering import render

bp = Blueprint("home", __name__)


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_referrer:  # an adviser of a bank or public financier: the portal only
        return redirect(url_for("portal.index"))
    from core.services.chores import today

    on = today()
    return render("home/index.html", panels=todo.for_user(current_user, today=on), today=on)


@bp.route("/language", methods=["POST"])
@public
def set_language():
    """Switch the interface language; a signed-in user keeps it as their preference."""
    language = request.form.get("lang", "")
    if language not in LANGUAGES:
        abort(400, description=_("Unknown language. Choose nl, fr or en."))
    session["lang"] = language
    if current_user.is_authenticated:
        current_user.preferred_language = language
        db.session.commit()
    target = request.form.get("next") or request.referrer or url_for("home.index")
    from core.web.auth import _safe_next

    return redirect(_safe_next(_path_of(target)))


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.route("/institutions")
@roles_required(*ROLES)
def institutions():
    """Every institution of the sector and whom it serves (public profile facts only)."""
    return render("home/institutions.html", institutions=enabled_institutions())
