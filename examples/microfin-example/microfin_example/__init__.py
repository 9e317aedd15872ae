"""The example plugin: its institution, one page and a menu entry."""
from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from flask_login import current_user

from core.plugin_api import Localized, MenuItem, hookimpl, roles_required, texts

from microfin_example.institution import Example

PROFILE = Example()
STAFF = frozenset({"admin", "officer", "coach"})

bp = Blueprint("example", __name__, template_folder="templates")


@bp.route("/about")
@roles_required(*STAFF)
def about():
    """Our institution's profile, for our own staff only (another institution's users get 404)."""
    if current_user.institution is None or current_user.institution.slug != PROFILE.slug:
        abort(404)
    return render_template("example/about.html", profile=PROFILE, language=str(get_locale() or "en"))


@hookimpl
def register_institutions():
    return [PROFILE]


@hookimpl
def register_blueprints():
    return [bp]


@hookimpl
def menu_items(user, institution):
    return [MenuItem(Localized(texts("About us", "Over ons", "À propos")), "example.about", STAFF, order=95)]
