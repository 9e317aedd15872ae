"""The four institution plugins pass the plugin contract; the contract catches what it should."""
import types

import pytest
from flask import Blueprint

from core.plugin_api import Eligibility, Institution, Region, hookimpl, texts
from core.testing import plugin_contract
from core.testing.plugin_contract import PluginContract, contract_problems


class TestMicroStartContract(PluginContract):
    plugin_name = "microstart"


class TestCredalContract(PluginContract):
    plugin_name = "credal"


class TestHefboomContract(PluginContract):
    plugin_name = "hefboom"


class TestBrusocContract(PluginContract):
    plugin_name = "brusoc"


class _Bad(Institution):
    slug = "bad"
    names = texts("Bad", "Slecht", "Mauvais")
    regions = frozenset({Region.BRUSSELS})
    languages = ("fr",)


def _module(**hooks):
    module = types.ModuleType("bad_plugin")
    module.__file__ = __file__
    for name, function in hooks.items():
        setattr(module, name, hookimpl(function))
    return module


def test_contract_refuses_a_non_eligibility_answer():
    class Sloppy(_Bad):
        def assess_referral(self, referral, settings=None):
            return True

    problems = plugin_contract.check_eligibility("bad", _module(register_institutions=lambda: [Sloppy()]))
    assert problems and "not an Eligibility" in problems[0]


def test_contract_refuses_an_impure_answer():
    calls = []

    class Moody(_Bad):
        def assess_referral(self, referral, settings=None):
            calls.append(1)
            return Eligibility.accept() if len(calls) % 2 else Eligibility.needs_info("amount")

    problems = plugin_contract.check_eligibility("bad", _module(register_institutions=lambda: [Moody()]))
    assert any("not pure" in p for p in problems)


def test_contract_refuses_a_wrong_blueprint_and_slug():
    module = _module(register_institutions=lambda: [_Bad()],
                     register_blueprints=lambda: [Blueprint("other", __name__)])
    problems = contract_problems("good", module)
    assert "good: blueprint 'other' must be named 'good'" in problems
    assert "good: the institution's slug 'bad' must be the plugin's name" in problems


def test_contract_refuses_unprefixed_tables_and_stray_templates(tmp_path):
    from sqlalchemy import Integer
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    package = tmp_path / "strayplugin"
    (package / "templates" / "shared").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    module = types.ModuleType("strayplugin")
    module.__file__ = str(package / "__init__.py")
    assert plugin_contract.check_templates("stray", module) == [
        "stray: templates/shared must live under templates/stray/"]

    class Base(DeclarativeBase):
        pass

    class Loose(Base):
        __tablename__ = "loose_things"
        __module__ = "strayplugin.models"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)

    class Tidy(Base):
        __tablename__ = "stray_things"
        __module__ = "strayplugin.models"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)

    assert plugin_contract.check_tables("stray", module, Base.registry.mappers) == [
        "stray: table 'loose_things' must be named stray_…"]


def test_contract_finds_two_migration_heads(tmp_path):
    package = tmp_path / "twoheads"
    versions = package / "migrations" / "versions"
    versions.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (versions / "a.py").write_text("revision = 'a'\ndown_revision = None\nbranch_labels = ('two',)\n")
    (versions / "b.py").write_text("revision = 'b'\ndown_revision = 'a'\nbranch_labels = None\n")
    (versions / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\nbranch_labels = None\n")
    module = types.ModuleType("twoheads")
    module.__file__ = str(package / "__init__.py")
    assert plugin_contract.check_migrations("two", module) == ["two: migrations have 2 heads: ['b', 'c']"]


def test_contract_reports_a_plugin_core_refuses():
    class Negative(_Bad):
        slug = "neg"

        def products(self, settings):
            from decimal import Decimal

            from core.plugin_api import LoanProduct
            return [LoanProduct("x", texts("X", "X", "X"), min_amount=Decimal("9"), max_amount=Decimal("1"),
                                min_term_months=1, max_term_months=2, annual_rate=Decimal("1"))]

    problems = plugin_contract.check_app_starts("neg", _module(register_institutions=lambda: [Negative()]))
    assert problems and "plugin neg: institution 'neg': product x: min_amount 9 is above max_amount 1" in problems[0]


def test_unknown_plugin_is_a_clear_error():
    with pytest.raises(LookupError, match="no installed plugin 'nosuch'"):
        contract_problems("nosuch")
