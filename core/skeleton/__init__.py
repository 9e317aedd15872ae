"""The files ``microfin plugins new SLUG`` writes: a working institution plugin as its own package.

Each file below is a ``string.Template``: ``$slug``, ``$package`` and ``$class_name`` are filled in.
"""
from __future__ import annotations

from pathlib import Path
from string import Template

FILES: dict[str, str] = {
    "pyproject.toml": '''\
[build-system]
requires = ["setuptools>=69,<81"]
build-backend = "setuptools.build_meta"

[project]
name = "microfin-$slug"
version = "0.1.0"
description = "The $slug institution plugin for Microfin CRM."
requires-python = ">=3.11"
dependencies = ["microfin-crm"]

[project.optional-dependencies]
test = ["pytest>=8.3,<10"]

[project.entry-points."microfin.plugins"]
$slug = "$package"

[tool.setuptools.packages.find]
include = ["$package*"]

[tool.setuptools.package-data]
"*" = ["templates/**/*", "translations/**/*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
''',
    "README.md": '''\
# microfin-$slug

An institution plugin for Microfin CRM (see docs/plugins.md of Microfin CRM).

```bash
.venv/bin/pip install -e .          # into Microfin CRM's virtualenv
.venv/bin/microfin plugins          # lists $slug
.venv/bin/pytest tests              # the plugin contract and your rules
```

Texts: write them in English with `_("…")` / `_l("…")` (from `core.plugin_api`) and
`{{ _("…") }}` in templates, then `microfin plugins catalogue .` extracts them into
`translations/<language>/LC_MESSAGES/messages.po` (one per language of the institution). Fill in
each `msgstr`, run `microfin plugins catalogue .` again to compile, and `microfin plugins check`
refuses any string still untranslated.
''',
    "$package/__init__.py": '''\
"""The $slug plugin: its institution, one page and a menu entry."""
from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from flask_login import current_user

from core.plugin_api import MenuItem, _l, hookimpl, roles_required

from $package.institution import $class_name

PROFILE = $class_name()
STAFF = frozenset({"admin", "officer", "coach"})

bp = Blueprint("$slug", __name__, template_folder="templates")


@bp.route("/about")
@roles_required(*STAFF)
def about():
    """Our institution's profile, for our own staff only (another institution's users get 404)."""
    if current_user.institution is None or current_user.institution.slug != PROFILE.slug:
        abort(404)
    return render_template("$slug/about.html", profile=PROFILE, language=str(get_locale() or "en"))


@hookimpl
def register_institutions():
    return [PROFILE]


@hookimpl
def register_blueprints():
    return [bp]


@hookimpl
def menu_items(user, institution):
    return [MenuItem(_l("About us"), "$slug.about", STAFF, order=95)]
''',
    "$package/institution.py": '''\
"""The $slug institution: profile, settings, products and referral rules."""
from decimal import Decimal

from core.plugin_api import (Eligibility, Institution, LoanProduct, Office, ReferralFacts, Region, Setting,
                             _l, language_requirement, texts)


class $class_name(Institution):
    slug = "$slug"
    names = texts("$class_name", "$class_name", "$class_name")
    regions = frozenset({Region.BRUSSELS})
    languages = ("fr", "nl")
    offices = (Office("Bruxelles/Brussel", "1000", head_office=True),)
    descriptions = texts("A microfinance institution.", "Een microfinancieringsinstelling.",
                         "Une institution de microfinance.")

    def settings(self) -> list[Setting]:
        """Figures the institution's admin may change in the app."""
        return [
            Setting("rate", "decimal", texts("Annual rate (%)", "Jaarlijkse rentevoet (%)", "Taux annuel (%)"),
                    default=Decimal("6"), minimum=Decimal("0"), maximum=Decimal("30")),
            Setting("max_amount", "decimal", texts("Largest loan (EUR)", "Grootste lening (EUR)",
                                                   "Plus grand prêt (EUR)"),
                    default=Decimal("15000"), minimum=Decimal("1")),
            language_requirement(),  # off by default: the applicant's language is a preference
        ]

    def products(self, settings) -> list[LoanProduct]:
        values = self.setting_values(settings)
        return [LoanProduct("microloan", texts("Microloan", "Microkrediet", "Microcrédit"),
                            min_amount=Decimal("500"), max_amount=values["max_amount"],
                            min_term_months=6, max_term_months=48, annual_rate=values["rate"])]

    def assess_referral(self, referral: ReferralFacts, settings=None) -> Eligibility:
        """Region, language and amount (the default); and nobody in collective debt settlement."""
        if referral.collective_debt_settlement:
            return Eligibility.decline("collective_debt_settlement",
                                       _l("Applicants in collective debt settlement are not eligible."),
                                       "collective_debt_settlement")
        return super().assess_referral(referral, settings)
''',
    "$package/templates/$slug/about.html": '''\
{% extends "base.html" %}
{% block title %}{{ profile.name(language) }}{% endblock %}
{% block content %}
<h1>{{ profile.name(language) }}</h1>
<p>{{ profile.description(language) }}</p>
<h2>{{ _("Our offices") }}</h2>
<ul>
{% for office in profile.offices %}<li>{{ office.city }} ({{ office.postal_code }})</li>{% endfor %}
</ul>
{% endblock %}
''',
    "tests/test_contract.py": '''\
"""The contract every Microfin CRM plugin passes (core.testing.plugin_contract)."""
import $package
from core.testing.plugin_contract import PluginContract


class TestContract(PluginContract):
    plugin_name = "$slug"
    plugin_module = $package
''',
    "tests/test_rules.py": '''\
"""The institution's own rules, as a table of referrals."""
from decimal import Decimal

import pytest

from core.plugin_api import ReferralFacts
from $package.institution import $class_name

BASE = dict(postal_code="1000", language="fr", amount=Decimal("5000"), stage="starter", sector="services")


@pytest.mark.parametrize("changes, expected", [
    ({}, "accept"),
    ({"postal_code": "1640"}, "region_not_served"),          # Sint-Genesius-Rode is in Flanders
    ({"language": "en"}, "accept"),                           # a preference, unless required (below)
    ({"amount": Decimal("20000")}, "amount_too_high"),
    ({"collective_debt_settlement": True}, "collective_debt_settlement"),
    ({"sector": None}, "accept"),                             # no sector would change the answer
])
def test_referrals(changes, expected):
    assert $class_name().assess_referral(ReferralFacts(**{**BASE, **changes})).code == expected


def test_the_language_can_be_made_a_requirement():
    required = {"referral_language_required": True}
    assert $class_name().assess_referral(ReferralFacts(**{**BASE, "language": "en"}), required).code \
        == "language_not_served"
''',
}


#: the languages of the skeleton's institution, each with a catalogue to fill in
LANGUAGES = ["fr", "nl"]
#: the skeleton's own strings, translated, so that a new plugin starts fully translated
TRANSLATIONS = {
    "About us": {"nl": "Over ons", "fr": "À propos"},
    "Our offices": {"nl": "Onze kantoren", "fr": "Nos bureaux"},
    "Applicants in collective debt settlement are not eligible.": {
        "nl": "Aanvragers in collectieve schuldenregeling komen niet in aanmerking.",
        "fr": "Les demandeurs en règlement collectif de dettes ne sont pas éligibles."},
}


def write_skeleton(slug: str, target: Path) -> list[Path]:
    """Write the plugin ``slug`` into the new folder ``target``; returns the files written."""
    values = {"slug": slug, "package": f"microfin_{slug}",
              "class_name": "".join(part.title() for part in slug.split("_"))}
    written = []
    for template, content in FILES.items():
        path = target / Template(template).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(content).substitute(values))
        written.append(path)
    from core.plugin_translations import fill_catalogue, update_catalogue

    package = target / values["package"]
    written += update_catalogue(package, LANGUAGES)
    fill_catalogue(package, TRANSLATIONS)
    return written
