"""Products of the four institutions: their figures (DOMAIN.md), ``check_application``, and the
checks that refuse a bad product or setting at startup with the plugin's name."""
from decimal import Decimal

import pytest

from core import create_app
from core.plugin_api import (ClientField, Institution, LoanProduct, Region, Setting, hookimpl, texts)
from core.plugins import PluginError
from plugins.brusoc.institution import Brusoc
from plugins.credal.institution import Credal
from plugins.hefboom.institution import Hefboom
from plugins.microstart.institution import MicroStart
from tests.conftest import base_config

D = Decimal


def codes(reasons):
    return [reason.code for reason in reasons]


def test_microstart_jump_and_boost_figures():
    jump, boost = MicroStart().product("jump"), MicroStart().product("boost")
    assert (jump.annual_rate, boost.annual_rate) == (D("12.13"), D("11.13"))
    assert (jump.min_amount, jump.max_amount, jump.max_term_months) == (D("500"), D("25000"), 48)
    assert jump.guarantor_required and jump.honour_loan_allowed and jump.honour_loan_max_deferral_months == 24


@pytest.mark.parametrize("code, application, expected", [
    ("jump", dict(amount=D("10000"), term_months=36), []),
    ("jump", dict(amount=D("400"), term_months=36), ["amount_too_low"]),
    ("jump", dict(amount=D("16000"), term_months=36), ["amount_needs_older_enterprise"]),
    ("jump", dict(amount=D("10000"), term_months=49), ["term_out_of_range"]),
    ("jump", dict(amount=D("10000"), term_months=36, enterprise_age_months=13), ["enterprise_too_old"]),
    ("boost", dict(amount=D("16000"), term_months=36, enterprise_age_months=13), []),
    ("boost", dict(amount=D("16000"), term_months=36, enterprise_age_months=6),
     ["amount_needs_older_enterprise", "enterprise_too_young"]),
    ("boost", dict(amount=D("26000"), term_months=36, enterprise_age_months=24), ["amount_too_high"]),
    # honour loan: at most a third of the microloan, holiday up to 24 months
    ("jump", dict(amount=D("15000"), term_months=36, honour_loan=D("5000")), []),
    ("jump", dict(amount=D("15000"), term_months=36, honour_loan=D("5000.01")), ["honour_loan_too_high"]),
    ("jump", dict(amount=D("9000"), term_months=36, honour_loan=D("3000"), honour_loan_deferral_months=24), []),
    ("jump", dict(amount=D("9000"), term_months=36, honour_loan=D("3000"), honour_loan_deferral_months=25),
     ["honour_loan_deferral_too_long"]),
])
def test_microstart_applications(code, application, expected):
    assert codes(MicroStart().product(code).check_application(**application)) == expected


def test_microstart_honour_loan_of_the_total_financing_is_a_setting():
    product = MicroStart().product("jump", {"honour_loan_base": "total"})
    # h <= (m + h) / 3  <=>  h <= m / 2
    assert codes(product.check_application(amount=D("10000"), term_months=24, honour_loan=D("5000"))) == []
    assert codes(product.check_application(amount=D("10000"), term_months=24, honour_loan=D("5001"))) == [
        "honour_loan_too_high"]


@pytest.mark.parametrize("application, expected", [
    (dict(amount=D("25000"), term_months=60, purpose="investment"), []),
    (dict(amount=D("25000"), term_months=61, purpose="investment"), ["term_out_of_range"]),
    (dict(amount=D("25000.01"), term_months=60, purpose="investment"), ["amount_too_high"]),
    (dict(amount=D("5000"), term_months=24, purpose="refinancing"), ["purpose_not_financed"]),
    (dict(amount=D("5000"), term_months=24, purpose="working_capital"), ["purpose_not_financed"]),
    (dict(amount=D("5000"), term_months=24, purpose="investment", honour_loan=D("100")),
     ["honour_loan_not_offered"]),
])
def test_hefboom_impulskrediet(application, expected):
    product = Hefboom().product("impulskrediet")
    assert (product.annual_rate, product.repayment_method) == (D("7"), "annuity")
    assert product.enterprise_number_before_disbursement
    assert codes(product.check_application(**application)) == expected


@pytest.mark.parametrize("application, expected", [
    (dict(amount=D("10000"), term_months=12, own_contribution=D("300")), []),
    (dict(amount=D("10000"), term_months=12, own_contribution=D("299.99")), ["own_contribution_too_low"]),
    (dict(amount=D("10000"), term_months=11, own_contribution=D("300")), ["term_out_of_range"]),
    (dict(amount=D("10000"), term_months=61, own_contribution=D("300")), ["term_out_of_range"]),
    (dict(amount=D("25000"), term_months=60, own_contribution=D("750")), []),
    (dict(amount=D("26000"), term_months=60, own_contribution=D("780")), ["amount_too_high"]),
])
def test_brusoc_open_up(application, expected):
    product = Brusoc().product("open_up")
    assert product.annual_rate == D("4") and not product.guarantees_allowed and not product.guarantor_required
    assert codes(product.check_application(**application)) == expected


def test_brusoc_ceiling_follows_its_setting():
    product = Brusoc().product("open_up", {"max_amount": D("30000")})
    assert codes(product.check_application(amount=D("30000"), term_months=60, own_contribution=D("900"))) == []


def test_credal_microcredit_and_womens_programme_field():
    product = Credal().product("microcredit_pro")
    assert product.max_amount == D("25000")
    (programme,) = Credal().client_fields()
    assert programme.key == "affaires_de_femmes" and programme.type == "bool"
    assert programme.parse("on") is True and programme.parse("") is False
    with pytest.raises(ValueError):
        programme.parse("perhaps")


def test_reason_messages_are_translated(app):
    from flask_babel import force_locale

    (reason,) = Brusoc().product("open_up").check_application(
        amount=D("10000"), term_months=24, own_contribution=D("0"))
    with app.test_request_context():
        assert reason.field == "own_contribution" and "300.00" in str(reason.message)
        with force_locale("nl"):
            assert "eigen inbreng" in str(reason.message).lower()
        with force_locale("fr"):
            assert "apport personnel" in str(reason.message).lower()


def test_floats_never_reach_a_product():
    with pytest.raises(TypeError, match="float"):
        Brusoc().product("open_up").check_application(amount=10000.0, term_months=24)


# --- refused at startup -----------------------------------------------------------------------

class _Base(Institution):
    slug = "fixture"
    names = texts("Fixture", "Proef", "Essai")
    regions = frozenset({Region.BRUSSELS})
    languages = ("fr",)


def _start_with(institution):
    class Plugin:
        @hookimpl
        def register_institutions(self):
            return [institution]

    return create_app(base_config("sqlite://", MICROFIN_EXTRA_PLUGINS=[("fixture", Plugin())]))


def _product(**changes):
    figures = dict(code="loan", names=texts("Loan", "Lening", "Prêt"), min_amount=D("500"),
                   max_amount=D("1000"), min_term_months=6, max_term_months=12, annual_rate=D("5"))
    return LoanProduct(**{**figures, **changes})


def test_product_with_min_above_max_refuses_to_start():
    class Bad(_Base):
        def products(self, settings):
            return [_product(min_amount=D("2000"))]

    with pytest.raises(PluginError, match="fixture.*product loan: min_amount 2000 is above max_amount 1000"):
        _start_with(Bad())


@pytest.mark.parametrize("changes, message", [
    (dict(repayment_method="balloon"), "repayment_method 'balloon'"),
    (dict(min_term_months=13), "term range 13-12"),
    (dict(annual_rate=D("120")), "annual_rate 120"),
    (dict(names={"en": "Loan"}), "names missing for nl, fr"),
    (dict(honour_loan_allowed=True), "honour loan is allowed but its cap is 0"),
    (dict(guarantor_required=True, guarantees_allowed=False), "guarantor is required"),
])
def test_product_problems_are_named(changes, message):
    assert any(message in problem for problem in _product(**changes).problems())


def test_setting_default_of_the_wrong_type_refuses_to_start():
    class Bad(_Base):
        def settings(self):
            return [Setting("rate", "decimal", texts("Rate", "Rente", "Taux"), default=12.5)]

    with pytest.raises(PluginError, match="fixture.*setting rate: default 12.5 .*"):
        _start_with(Bad())


def test_setting_and_field_declarations_are_checked():
    class Bad(_Base):
        def settings(self):
            return [Setting("n", "int", texts("N", "N", "N"), default="3"),
                    Setting("n", "int", texts("N", "N", "N"), default=3),
                    Setting("pick", "choice", texts("P", "P", "P"), default="a")]

        def client_fields(self):
            return [ClientField("Bad Key", "colour", {"en": "x"})]

    problems = "; ".join(Bad().problems())
    for expected in ("setting 'n' is declared twice", "setting n: default '3' is not of type int",
                     "setting pick: a choice needs choices", "client field key 'Bad Key'",
                     "type 'colour' is not one of", "labels missing for nl, fr"):
        assert expected in problems


def test_a_float_in_a_product_refuses():
    with pytest.raises(TypeError, match="loan: max_amount must be a Decimal"):
        _product(max_amount=1000.0)


def test_products_failing_with_defaults_are_reported():
    class Bad(_Base):
        def products(self, settings):
            return [_product(max_amount=settings["missing"])]

    with pytest.raises(PluginError, match="fixture.*products\\(\\) failed.*KeyError"):
        _start_with(Bad())


def test_declarations_that_crash_or_have_the_wrong_type_refuse_to_start():
    class Crashing(_Base):
        def settings(self):
            raise KeyError("rate")

    with pytest.raises(PluginError, match="fixture.*client_fields\\(\\) or loan_fields\\(\\) failed: KeyError"):
        _start_with(Crashing())

    class NotProducts(_Base):
        def products(self, settings):
            return [{"code": "loan"}]

    with pytest.raises(PluginError, match="fixture.*products\\(\\) must return LoanProduct objects"):
        _start_with(NotProducts())


# --- typed parsing of settings and fields -----------------------------------------------------

RATE = Setting("rate", "decimal", texts("Rate", "Rente", "Taux"), default=D("4"), minimum=D("0"), maximum=D("30"))
TERM = Setting("term", "int", texts("Term", "Looptijd", "Durée"), default=12, minimum=1)
BASE = Setting("base", "choice", texts("Base", "Basis", "Base"), default="a", choices=("a", "b"))
FLAG = Setting("flag", "bool", texts("Flag", "Vlag", "Drapeau"), default=False)


@pytest.mark.parametrize("setting, raw, expected", [
    (RATE, "12.5", D("12.5")), (RATE, " 12,50 ", D("12.50")), (RATE, D("7"), D("7")), (RATE, "0", D("0")),
    (RATE, "30", D("30")), (TERM, "48", 48), (TERM, 48, 48), (BASE, "b", "b"),
    (FLAG, "y", True), (FLAG, None, False), (FLAG, True, True), (FLAG, "", False),
])
def test_settings_parse_typed_values(setting, raw, expected):
    value = setting.parse(raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("setting, raw, message", [
    (RATE, "twelve", "Enter a number, such as 12.5."), (RATE, "NaN", "Enter a number, such as 12.5."),
    (RATE, "", "Enter a number, such as 12.5."), (RATE, 12.5, "Enter a number, such as 12.5."),
    (RATE, "30.01", "Enter 30 or less."), (RATE, "-1", "Enter 0 or more."),
    (TERM, "4.5", "Enter a whole number."), (TERM, True, "Enter a whole number."), (TERM, "0", "Enter 1 or more."),
    (BASE, "c", "Choose one of the options."), (FLAG, "maybe", "Answer yes or no."),
])
def test_settings_refuse_bad_values_with_a_clear_message(app, setting, raw, message):
    with app.test_request_context(), pytest.raises(ValueError) as refused:
        setting.parse(raw)
    with app.test_request_context():
        assert str(refused.value.args[0]) == message


def test_decimal_settings_are_stored_as_exact_text():
    assert RATE.to_json(D("12.10")) == "12.10" and RATE.parse(RATE.to_json(D("12.10"))) == D("12.10")
    assert TERM.to_json(12) == 12


def test_the_startup_error_for_a_float_default_is_the_one_the_guide_quotes():
    """docs/plugins.md quotes core's refusal of a float default word for word."""
    import re
    from pathlib import Path

    from core.plugin_api import Setting

    class Floaty(_Base):
        def settings(self):
            return [Setting("rate", "decimal", texts("Rate", "Rente", "Taux"), default=12.13)]

    with pytest.raises(PluginError) as refused:
        _start_with(Floaty())
    guide = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    quoted = re.search(r"`(plugin P: institution 'S': setting KEY: default 12\.13 is invalid: [^`]+)`", guide).group(1)
    assert str(refused.value) == quoted.replace("plugin P", "plugin fixture").replace(
        "'S'", "'fixture'").replace("setting KEY", "setting rate")
