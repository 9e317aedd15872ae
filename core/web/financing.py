"""The public guide for bank advisers: ``/financing`` (no sign-in), in nl, fr, en and de (``?lang=``),
what each institution finances, from the plugins' live product data."""
from __future__ import annotations

from flask import Blueprint, g
from flask_babel import refresh

from core.access import public
from core.services import financing_guide
from core.web.rendering import render
from core.web.self_referral import page_language

bp = Blueprint("financing", __name__, url_prefix="/financing")


@bp.before_request
def _use_page_language():
    g.page_locale = page_language()
    refresh()


@bp.route("")
@public
def guide():
    """What each institution finances: regions, amounts, terms, rates, honour loans, fees."""
    language = g.page_locale
    return render("financing/guide.html", entries=financing_guide.guide(language), language=language)
