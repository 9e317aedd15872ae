"""Each institution's ``assess_referral``: a table of cases per institution (DOMAIN.md), pure calls."""
from decimal import Decimal

import pytest

from core.plugin_api import Eligibility, ReferralFacts, Stage
from plugins.brusoc.institution import Brusoc
from plugins.credal.institution import Credal
from plugins.hefboom.institution import Hefboom
from plugins.microstart.institution import MicroStart

COMPLETE = dict(postal_code="1000", language="fr", amount=Decimal("10000"), stage=Stage.STARTER,
                sector="services", purpose="investment", enterprise_age_months=None,
                collective_debt_settlement=False, undischarged_bankruptcy=False)


def facts(**changes) -> ReferralFacts:
    return ReferralFacts(**{**COMPLETE, **changes})


def _check(institution, changes, expected, settings=None):
    answer = institution.assess_referral(facts(**changes), settings)
    assert isinstance(answer, Eligibility)
    assert answer.code == expected, f"{changes}: {answer}"
    return answer


MICROSTART = [
    ({}, "accept"),
    ({"postal_code": "9000", "language": "nl"}, "accept"),                       # Ghent
    ({"postal_code": "4700", "language": "fr"}, "accept"),                       # Eupen: Wallonia
    ({"postal_code": "1640", "language": "en"}, "accept"),                       # Rode: Flanders, served
    ({"postal_code": "4700", "language": "de"}, "accept"),                       # language: a preference
    ({"postal_code": "99999"}, "postal_code_unknown"),
    ({"postal_code": "0999"}, "postal_code_unknown"),
    ({"amount": Decimal("499")}, "amount_too_low"),
    ({"amount": Decimal("500")}, "accept"),
    ({"amount": Decimal("15000")}, "accept"),
    ({"amount": Decimal("15000.01")}, "amount_needs_older_enterprise"),          # starter
    ({"amount": Decimal("20000"), "stage": Stage.PROJECT}, "amount_needs_older_enterprise"),
    ({"amount": Decimal("20000"), "stage": Stage.ESTABLISHED}, "accept"),         # Boost
    ({"amount": Decimal("25000"), "stage": Stage.ESTABLISHED}, "accept"),
    ({"amount": Decimal("25000.01"), "stage": Stage.ESTABLISHED}, "amount_too_high"),
    ({"sector": "horeca", "stage": Stage.ESTABLISHED}, "accept"),
    ({"collective_debt_settlement": True}, "collective_debt_settlement"),
    ({"collective_debt_settlement": True, "postal_code": None}, "collective_debt_settlement"),
    ({"collective_debt_settlement": None}, "accept"),                           # checked at first contact
    ({"sector": None}, "accept"),                                               # no sector would decline
    ({"stage": None}, "accept"),                                                # every stage fits 10,000
]

CREDAL = [
    ({}, "accept"),
    ({"postal_code": "1348"}, "accept"),                                         # Louvain-la-Neuve
    ({"postal_code": "7780"}, "accept"),                                         # Comines-Warneton: Wallonia
    ({"postal_code": "7784"}, "accept"),
    ({"postal_code": "4700"}, "accept"),                                         # German-speaking, in Wallonia
    ({"postal_code": "4791"}, "accept"),
    ({"postal_code": "1620"}, "region_not_served"),                              # Drogenbos
    ({"postal_code": "1630"}, "region_not_served"),                              # Linkebeek
    ({"postal_code": "1640"}, "region_not_served"),                              # Sint-Genesius-Rode
    ({"postal_code": "1780"}, "region_not_served"),                              # Wemmel
    ({"postal_code": "1950"}, "region_not_served"),                              # Kraainem
    ({"postal_code": "1970"}, "region_not_served"),                              # Wezembeek-Oppem
    ({"postal_code": "3790"}, "region_not_served"),                              # Voeren
    ({"postal_code": "3798"}, "region_not_served"),
    ({"language": "nl"}, "accept"),                                             # a preference by default
    ({"amount": Decimal("25000"), "stage": Stage.ESTABLISHED}, "accept"),
    ({"amount": Decimal("25001")}, "amount_too_high"),
    ({"stage": Stage.PROJECT, "sector": "care"}, "accept"),
    ({"collective_debt_settlement": True}, "accept"),                             # not excluded by Crédal
    ({"amount": None}, "needs_info"),
]

HEFBOOM = [
    ({"postal_code": "9000", "language": "nl"}, "accept"),
    ({"postal_code": "1620", "language": "nl"}, "accept"),                       # Drogenbos: Flanders
    ({"postal_code": "1630", "language": "nl"}, "accept"),
    ({"postal_code": "1640", "language": "nl"}, "accept"),
    ({"postal_code": "1780", "language": "nl"}, "accept"),
    ({"postal_code": "1950", "language": "nl"}, "accept"),
    ({"postal_code": "1970", "language": "nl"}, "accept"),
    ({"postal_code": "3790", "language": "nl"}, "accept"),                       # Voeren
    ({"postal_code": "3798", "language": "nl"}, "accept"),
    ({"postal_code": "7780", "language": "nl"}, "region_not_served"),            # Comines-Warneton
    ({"postal_code": "1000", "language": "nl"}, "region_not_served"),            # Brussels: setting off
    ({"postal_code": "4000", "language": "nl"}, "region_not_served"),
    ({"postal_code": "9000", "language": "fr"}, "accept"),
    ({"postal_code": "9000", "language": "nl", "purpose": "refinancing"}, "purpose_not_financed"),
    ({"postal_code": "9000", "language": "nl", "purpose": "working_capital"}, "purpose_not_financed"),
    ({"postal_code": "9000", "language": "nl", "amount": Decimal("25000")}, "accept"),
    ({"postal_code": "9000", "language": "nl", "amount": Decimal("30000")}, "amount_too_high"),
    ({"postal_code": "9000", "language": "nl", "collective_debt_settlement": True}, "collective_debt_settlement"),
    ({"postal_code": "9000", "language": "nl", "undischarged_bankruptcy": True}, "undischarged_bankruptcy"),
    ({"postal_code": "9000", "language": "nl", "undischarged_bankruptcy": None}, "accept"),
    ({"postal_code": "9000", "language": "nl", "purpose": None}, "needs_info"),
    ({"postal_code": "9000", "language": "nl", "stage": Stage.ESTABLISHED, "sector": "transport"}, "accept"),
]

BRUSOC = [
    ({}, "accept"),
    ({"language": "nl"}, "accept"),
    ({"language": "en"}, "accept"),
    ({"postal_code": "1200"}, "accept"),
    ({"postal_code": "1299"}, "accept"),
    ({"postal_code": "1300"}, "region_not_served"),                              # Wavre: Wallonia
    ({"postal_code": "1620"}, "region_not_served"),                              # Drogenbos
    ({"postal_code": "1640"}, "region_not_served"),                              # Sint-Genesius-Rode
    ({"postal_code": "1780"}, "region_not_served"),                              # Wemmel
    ({"postal_code": "1950"}, "region_not_served"),                              # Kraainem
    ({"postal_code": "1970"}, "region_not_served"),                              # Wezembeek-Oppem
    ({"postal_code": "1630"}, "region_not_served"),                              # Linkebeek
    ({"amount": Decimal("25000"), "stage": Stage.PROJECT}, "accept"),
    ({"amount": Decimal("27000")}, "amount_too_high"),
    ({"sector": "construction", "stage": Stage.ESTABLISHED}, "accept"),
    ({"postal_code": None}, "needs_info"),
]


@pytest.mark.parametrize("changes, expected", MICROSTART)
def test_microstart_referrals(changes, expected):
    _check(MicroStart(), changes, expected)


@pytest.mark.parametrize("changes, expected", CREDAL)
def test_credal_referrals(changes, expected):
    _check(Credal(), changes, expected)


@pytest.mark.parametrize("changes, expected", HEFBOOM)
def test_hefboom_referrals(changes, expected):
    _check(Hefboom(), changes, expected)


@pytest.mark.parametrize("changes, expected", BRUSOC)
def test_brusoc_referrals(changes, expected):
    _check(Brusoc(), changes, expected)


def test_needs_info_names_the_missing_facts():
    answer = Hefboom().assess_referral(ReferralFacts(postal_code="9000", language="nl"))
    assert answer.outcome == "needs_info"
    assert set(answer.fields) == {"amount", "purpose"}


def test_language_required_by_setting():
    _check(Brusoc(), {"language": "en"}, "language_not_served", {"referral_language_required": True})
    _check(Hefboom(), {"postal_code": "9000", "language": "fr"}, "language_not_served",
           {"referral_language_required": True})


def test_settings_change_the_answer():
    assert _check(Hefboom(), {"language": "nl"}, "accept", {"serves_brussels": True})
    assert _check(Brusoc(), {"amount": Decimal("30000")}, "accept", {"max_amount": Decimal("30000")})
    _check(MicroStart(), {"amount": Decimal("18000")}, "accept",
           {"young_business_max_amount": Decimal("20000")})


def test_a_float_amount_is_refused():
    with pytest.raises(TypeError, match="float"):
        ReferralFacts(amount=1000.0)


def test_an_unknown_sector_is_refused():
    with pytest.raises(ValueError, match="sector 'farming'"):
        ReferralFacts(sector="farming")
