"""The institution's own rules, as a table of referrals."""
from decimal import Decimal

import pytest

from core.plugin_api import ReferralFacts
from microfin_example.institution import Example

BASE = dict(postal_code="4700", language="de", amount=Decimal("5000"), stage="starter", sector="services")


@pytest.mark.parametrize("changes, expected", [
    ({}, "accept"),
    ({"postal_code": "4791", "language": "fr"}, "accept"),    # Burg-Reuland
    ({"postal_code": "4000"}, "region_not_served"),           # Liège: Wallonia, not German-speaking
    ({"postal_code": "4792"}, "region_not_served"),
    ({"postal_code": "3790"}, "region_not_served"),           # Voeren: Flanders
    ({"postal_code": "1000"}, "region_not_served"),
    ({"language": "nl"}, "accept"),                           # a preference, unless required (below)
    ({"amount": Decimal("20000")}, "amount_too_high"),
    ({"collective_debt_settlement": True}, "collective_debt_settlement"),
    ({"sector": None}, "accept"),                             # no sector would change the answer
])
def test_referrals(changes, expected):
    assert Example().assess_referral(ReferralFacts(**{**BASE, **changes})).code == expected


def test_the_language_can_be_made_a_requirement():
    required = {"referral_language_required": True}
    assert Example().assess_referral(ReferralFacts(**{**BASE, "language": "nl"}), required).code \
        == "language_not_served"
