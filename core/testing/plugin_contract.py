"""The contract every institution plugin's tests run (docs/plugins.md, "Testing your plugin").

In your plugin's tests::

    from core.testing.plugin_contract import PluginContract
    import microfin_example

    class TestContract(PluginContract):
        plugin_name = "example"            # the entry-point name
        plugin_module = microfin_example   # optional when the plugin is installed

pytest then collects the ``test_*`` methods below. Each is also a plain function returning a list
of problems (``contract_problems`` runs them all), which ``microfin plugins new`` uses on the
skeleton it writes.
"""
from __future__ import annotations

import importlib.util
from dataclasses import fields
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from flask import Blueprint

from core.plugin_api import Eligibility, Institution, ReferralFacts, Stage

#: Referrals of every kind an institution may meet: complete, partial, odd.
SAMPLE_REFERRALS = (
    ReferralFacts(),
    ReferralFacts(postal_code="1000", language="fr", amount=Decimal("5000"), stage=Stage.STARTER,
                  sector="services", purpose="investment", enterprise_age_months=3,
                  collective_debt_settlement=False, undischarged_bankruptcy=False),
    ReferralFacts(postal_code="9000", language="nl", amount=Decimal("25000"), stage=Stage.ESTABLISHED,
                  sector="horeca", purpose="working_capital", enterprise_age_months=40,
                  collective_debt_settlement=False, undischarged_bankruptcy=False),
    ReferralFacts(postal_code="4700", language="de", amount=Decimal("500"), stage=Stage.PROJECT,
                  sector="care", purpose="refinancing", collective_debt_settlement=True,
                  undischarged_bankruptcy=True),
    ReferralFacts(postal_code="1640", language="en", amount=Decimal("1000000"), stage=Stage.PROJECT,
                  sector="other"),
    ReferralFacts(postal_code="0000", language="fr", amount=Decimal("0.01")),
)
OUTCOMES = {Eligibility.ACCEPT, Eligibility.DECLINE, Eligibility.NEEDS_INFO}
FACT_NAMES = {f.name for f in fields(ReferralFacts)}


def load_plugin(name: str, module: ModuleType | None = None) -> ModuleType:
    """The plugin's module: ``module`` if given, else the installed entry point ``name``."""
    if module is not None:
        return module
    found = [ep for ep in entry_points(group="microfin.plugins") if ep.name == name]
    if not found:
        raise LookupError(f"no installed plugin {name!r} (entry point group microfin.plugins)")
    return found[0].load()


def _package_dir(module: ModuleType) -> Path:
    return Path(module.__file__).parent


def institutions_of(module: ModuleType) -> list[Institution]:
    hook = getattr(module, "register_institutions", None)
    return list(hook() or []) if hook else []


def check_institutions(name: str, module: ModuleType) -> list[str]:
    """One valid institution or more; the first one's slug is the plugin's name."""
    institutions = institutions_of(module)
    if not institutions:
        return [f"{name}: register_institutions returns no Institution"]
    problems = []
    for institution in institutions:
        if not isinstance(institution, Institution):
            problems.append(f"{name}: {institution!r} is not an Institution")
            continue
        problems += [f"{name}: institution {institution.slug!r}: {p}" for p in institution.problems()]
    if isinstance(institutions[0], Institution) and institutions[0].slug != name:
        problems.append(f"{name}: the institution's slug {institutions[0].slug!r} must be the plugin's name")
    return problems


def check_products(name: str, module: ModuleType) -> list[str]:
    """Every product valid under the default settings, and under every choice of each choice setting."""
    problems = []
    for institution in institutions_of(module):
        variants = [institution.default_settings()]
        for setting in institution.settings():
            variants += [{**variants[0], setting.key: choice} for choice in setting.choices]
        for settings in variants:
            for product in institution.products(settings):
                problems += [f"{name}: {p}" for p in product.problems()]
    return sorted(set(problems))


def check_eligibility(name: str, module: ModuleType) -> list[str]:
    """``assess_referral`` answers an ``Eligibility`` for every sample, the same twice (pure)."""
    problems = []
    for institution in institutions_of(module):
        for referral in SAMPLE_REFERRALS:
            try:
                answer = institution.assess_referral(referral)
                again = institution.assess_referral(referral, institution.default_settings())
            except Exception as exc:
                problems.append(f"{name}: assess_referral({referral}) raised {type(exc).__name__}: {exc}")
                continue
            problems += _answer_problems(name, referral, answer, again)
    return problems


def _key(answer) -> tuple:
    """What must not change between two calls (messages are lazy texts: compare codes)."""
    reason = getattr(answer, "reason", None)
    return (getattr(answer, "outcome", answer), reason and (reason.code, reason.field),
            getattr(answer, "fields", None))


def _answer_problems(name, referral, answer, again) -> list[str]:
    if not isinstance(answer, Eligibility) or answer.outcome not in OUTCOMES:
        return [f"{name}: assess_referral({referral}) returned {answer!r}, not an Eligibility"]
    problems = []
    if _key(answer) != _key(again):
        problems.append(f"{name}: assess_referral is not pure: {answer} then {again}")
    if answer.outcome == Eligibility.DECLINE and not (answer.reason and answer.reason.code):
        problems.append(f"{name}: a decline must carry a reason code ({referral})")
    if answer.outcome == Eligibility.NEEDS_INFO and (not answer.fields or set(answer.fields) - FACT_NAMES):
        problems.append(f"{name}: needs_info must name ReferralFacts fields, not {answer.fields}")
    return problems


def check_blueprints(name: str, module: ModuleType) -> list[str]:
    """Blueprints named after the plugin, templates only under ``templates/<name>/``."""
    hook = getattr(module, "register_blueprints", None)
    problems = []
    for blueprint in (hook() or []) if hook else []:
        if not isinstance(blueprint, Blueprint):
            problems.append(f"{name}: register_blueprints returned {blueprint!r}, not a Blueprint")
        elif blueprint.name != name:
            problems.append(f"{name}: blueprint {blueprint.name!r} must be named {name!r}")
    return problems


def check_templates(name: str, module: ModuleType) -> list[str]:
    folder = _package_dir(module) / "templates"
    if not folder.is_dir():
        return []
    strays = sorted(p.name for p in folder.iterdir() if p.name != name and not p.name.startswith("."))
    return [f"{name}: templates/{stray} must live under templates/{name}/" for stray in strays]


def check_tables(name: str, module: ModuleType, mappers=None) -> list[str]:
    """Tables of models defined in the plugin's package are named ``<name>_…``."""
    from core.extensions import db

    package = module.__name__.split(".")[0]
    problems = []
    for mapper in db.Model.registry.mappers if mappers is None else mappers:
        model = mapper.class_
        if model.__module__.split(".")[0] != package:
            continue
        for table in mapper.tables:
            if not table.name.startswith(f"{name}_"):
                problems.append(f"{name}: table {table.name!r} must be named {name}_…")
    return problems


def check_migrations(name: str, module: ModuleType) -> list[str]:
    """A plugin's own migration branch, if it has one, is labelled ``<name>`` and has one head."""
    versions = _package_dir(module) / "migrations" / "versions"
    if not versions.is_dir():
        return []
    revisions = {}
    for path in sorted(versions.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_contract_{name}_{path.stem}", path)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        revisions[script.revision] = script
    parents = set()
    for script in revisions.values():
        down = script.down_revision
        parents |= set(down) if isinstance(down, (tuple, list)) else {down}
    heads = sorted(set(revisions) - parents)
    problems = [] if len(heads) <= 1 else [f"{name}: migrations have {len(heads)} heads: {heads}"]
    roots = [s for s in revisions.values() if s.down_revision is None]
    if roots and name not in set(roots[0].branch_labels or ()):
        problems.append(f"{name}: the first migration must carry branch_labels = ({name!r},)")
    return problems


def check_translations(name: str, module: ModuleType) -> list[str]:
    """Every string of the plugin (``_()``, ``_l()``, templates' ``{{ _() }}``) is translated, in
    the plugin's catalogue or core's, into each language of its institutions but English."""
    from core.plugin_translations import untranslated
    from core.plugins import package_dir

    package = package_dir(module)
    if package is None:
        return []
    languages = sorted({language for institution in institutions_of(module) if isinstance(institution, Institution)
                        for language in institution.languages})
    return [f"{name}: not translated into {language}: " + "; ".join(repr(m) for m in messages)
            for language, messages in untranslated(package, languages).items()]


def check_app_starts(name: str, module: ModuleType) -> list[str]:
    """Core starts with this plugin alone (plus core) and mounts its pages under ``/i/<name>``."""
    from core import create_app
    from core.plugins import PluginError

    # "-" names no installed plugin: only core and the plugin under test are loaded.
    config = {"TESTING": True, "SECRET_KEY": "contract", "SQLALCHEMY_DATABASE_URI": "sqlite://",
              "MICROFIN_PLUGINS": ["-"], "MICROFIN_EXTRA_PLUGINS": [(name, module)]}
    try:
        app = create_app(config)
    except PluginError as exc:
        return [str(exc)]
    if name not in app.extensions["microfin"].owners.values():
        return [f"{name}: core started but registered no institution of the plugin"]
    stray = [r.rule for r in app.url_map.iter_rules()
             if r.endpoint.startswith(f"{name}.") and not r.rule.startswith(f"/i/{name}/")]
    return [f"{name}: route {rule} is not under /i/{name}/" for rule in stray]


CHECKS = (check_institutions, check_products, check_eligibility, check_blueprints, check_templates,
          check_tables, check_migrations, check_translations, check_app_starts)


def contract_problems(name: str, module: ModuleType | None = None) -> list[str]:
    """Every problem the contract finds with plugin ``name`` (empty: it passes)."""
    module = load_plugin(name, module)
    return [problem for check in CHECKS for problem in check(name, module)]


class PluginContract:
    """Subclass in a test module, setting ``plugin_name`` (and ``plugin_module`` if not installed)."""

    plugin_name: str = ""
    plugin_module: ModuleType | None = None

    def _run(self, check):
        module = load_plugin(self.plugin_name, self.plugin_module)
        problems = check(self.plugin_name, module)
        assert problems == [], "\n".join(problems)

    def test_institutions_are_valid(self):
        self._run(check_institutions)

    def test_products_are_valid(self):
        self._run(check_products)

    def test_eligibility_answers_an_eligibility(self):
        self._run(check_eligibility)

    def test_blueprints_are_named_after_the_plugin(self):
        self._run(check_blueprints)

    def test_templates_are_namespaced(self):
        self._run(check_templates)

    def test_tables_are_prefixed(self):
        self._run(check_tables)

    def test_migrations_are_single_headed(self):
        self._run(check_migrations)

    def test_strings_are_translated(self):
        self._run(check_translations)

    def test_core_starts_with_the_plugin(self):
        self._run(check_app_starts)
