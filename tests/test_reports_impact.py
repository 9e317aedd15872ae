"""Impact and referral-outcome figures against hand-built expectations; the federation's small cells."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from core.extensions import db
from core.models.referrals import Referral, Referrer
from core.services.reports.common import Period, institution_scope, parse_period, sector_scope
from core.services.reports.impact import impact_report
from core.services.reports.referral_outcomes import referral_outcomes
from core.services.errors import ValidationFailed
from tests.clients_data import national_number
from tests.reports_data import make_loan, person

YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31))


@pytest.fixture
def financed(app, staff_a, staff_b):
    p1 = person(staff_a, last_name="Pone")  # woman, born in Morocco, low-educated, job seeker, horeca, Brussels
    make_loan(staff_a, p1, "10000", date(2025, 3, 1), honour="2000")
    make_loan(staff_a, p1, "5000", date(2026, 1, 10))  # after the period
    p2 = person(staff_a, last_name="Ptwo", gender="male", country_of_birth="BE", birth_date=date(2000, 5, 10),
                education_level="higher", employment_status="employed", sector="retail",
                postal_code="9000", city="Gent", preferred_language="nl")
    make_loan(staff_a, p2, "8000", date(2025, 5, 9))
    make_loan(staff_a, p2, "9000", date(2025, 6, 1), status="draft").loan  # never disbursed
    p3 = person(staff_a, last_name="Pthree", country_of_birth="BE", birth_date=date(1995, 6, 15),
                education_level=None, employment_status="employed", disability=True, sector="care",
                postal_code="5000", city="Namur")
    make_loan(staff_a, p3, "3000", date(2025, 6, 14))  # 29 years old: young
    make_loan(staff_a, p3, "4000", date(2025, 6, 15))  # 30 on that day: not young
    for n in range(5):  # Hefboom: five women in horeca in Flanders
        other = person(staff_b, last_name=f"Hef{n}", postal_code="9000", city="Gent", preferred_language="nl")
        make_loan(staff_b, other, "1000", date(2025, 9, 1))
    return p1, p2, p3


def c(persons, amount):
    return {"persons": persons, "amount": amount}


def test_impact_of_one_institution_is_exactly_the_hand_built_figures(financed):
    report = impact_report(institution_scope("microstart"), YEAR_2025)
    # no budget entered: the persons of 2025 and the default assumptions, no cost (tests/test_reports_cost.py)
    assert report.pop("cost") == {
        "year": 2025, "budget": None, "persons": 3, "cost_per_person": None,
        "social_return": {"estimate": None, "benefit": "20000.00", "job_seekers": 1, "assumptions": {
            "public_cost_per_job_seeker": "40000.00", "share_left_unemployment": "50.00",
            "years_counted": "1.00", "other_benefit_per_person": "0.00"}}}
    assert report.pop("outcomes")["jobs_created"] == {"answered": 0, "fte": "0.0"}  # tests/test_outcomes.py
    assert report == {
        "scope": "microstart", "from": "2025-01-01", "to": "2025-12-31",
        "financed": c(3, "27000.00"),
        "target_groups": {"women": c(2, "19000.00"), "born_abroad": c(1, "12000.00"),
                          "young": c(2, "11000.00"), "low_educated": c(1, "12000.00"),
                          "job_seekers": c(1, "12000.00"), "disability": c(1, "7000.00")},
        "sectors": {"horeca": c(1, "12000.00"), "retail": c(1, "8000.00"), "services": c(0, "0.00"),
                    "care": c(1, "7000.00"), "transport": c(0, "0.00"), "construction": c(0, "0.00"),
                    "other": c(0, "0.00")},
        "regions": {"brussels": c(1, "12000.00"), "wallonia": c(1, "7000.00"), "flanders": c(1, "8000.00")},
    }
    json.dumps(report)  # JSON-ready as is


def test_all_time_counts_every_disbursement(financed):
    report = impact_report(institution_scope("microstart"))
    assert (report["from"], report["to"]) == (None, None)
    assert report["financed"] == c(3, "32000.00")


def test_sector_view_of_the_federation_suppresses_cells_under_five(financed):
    report = impact_report(sector_scope(), YEAR_2025)
    assert report["scope"] == "sector"
    assert report["financed"] == c(8, "32000.00")
    assert report["target_groups"]["women"] == c(7, "24000.00")
    assert report["sectors"]["horeca"] == c(6, "17000.00")
    assert report["regions"]["flanders"] == c(6, "13000.00")
    assert report["target_groups"]["disability"] == c("<5", "<5")
    assert report["sectors"]["care"] == report["regions"]["wallonia"] == c("<5", "<5")
    unsuppressed = impact_report(sector_scope(suppress=False), YEAR_2025)
    assert unsuppressed["sectors"]["care"] == c(1, "7000.00")


def test_period_errors_name_the_field(app):
    with pytest.raises(ValidationFailed) as failed:
        parse_period("2025-12-31", "2025-01-01")
    assert set(failed.value.errors) == {"to"}
    with pytest.raises(ValidationFailed) as failed:
        parse_period("31/12/2025", "2025-13-01")
    assert set(failed.value.errors) == {"from", "to"}
    with pytest.raises(ValidationFailed) as failed:
        institution_scope("nowhere")
    assert set(failed.value.errors) == {"institution"}


def _referral(referrer, n, region, status, contact_days=None, institution_id=None):
    received = datetime(2025, 4, 1, 9, tzinfo=timezone.utc)
    contact = received.replace(day=1 + contact_days) if contact_days is not None else None
    db.session.add(Referral(
        referrer_id=referrer.id, external_reference=f"R{n}", status=status, institution_id=institution_id,
        region=region, language="fr", amount_requested="5000", sector="horeca", stage="starter",
        refusal_decided_on=date(2025, 3, 30), refusal_reasons=["insufficient_collateral"],
        consent_given_at=received, consent_method="written", consent_scope=["share_with_mfi"],
        received_at=received, first_contact_at=contact))


def test_referral_outcomes_by_kind_and_region(app, staff_a):
    bank = Referrer(name="Bank", kind="bank")
    public = Referrer(name="Fund", kind="public")
    db.session.add_all([bank, public])
    db.session.flush()
    for n, (status, days) in enumerate([("financed", 2), ("financed", 4), ("contacted", 3),
                                        ("not_financed", 3), ("offered", None), ("received", None)]):
        _referral(bank, n, "brussels", status, days, staff_a.institution_id if n < 4 else None)
    _referral(public, 10, "wallonia", "financed", 1, staff_a.institution_id)
    db.session.commit()
    sector = referral_outcomes(sector_scope(), Period(date(2025, 4, 1), date(2025, 4, 30)))
    assert sector["referrer_kind"] == [
        {"key": "bank", "referred": 6, "contacted": 4, "financed": 2, "conversion": "0.3333",
         "days_to_first_contact": "3.0"},
        {"key": "public", **dict.fromkeys(("referred", "contacted", "financed", "conversion",
                                           "days_to_first_contact"), "<5")}]
    assert [r["key"] for r in sector["region"]] == ["brussels", "wallonia"]
    own = referral_outcomes(institution_scope("microstart"))
    assert own["referrer_kind"][1] == {"key": "public", "referred": 1, "contacted": 1, "financed": 1,
                                       "conversion": "1.0000", "days_to_first_contact": "1.0"}
    assert own["referrer_kind"][0]["referred"] == 4
    assert referral_outcomes(sector_scope(), Period(date(2025, 5, 1), None))["region"] == []


def test_the_sector_counts_a_person_financed_by_two_institutions_once(app, staff_a, staff_b):
    """Issue 16.5: one person (same national number) financed by microStart and by Hefboom is one
    person in the sector's figures, and the sector says so; each institution still counts its file."""
    twice = national_number(date(1990, 2, 3), 501)
    at_a = person(staff_a, last_name="Twice", first_name="Tess", birth_date=date(1990, 2, 3), national_number=twice)
    at_b = person(staff_b, last_name="Twice", first_name="Tess", birth_date=date(1990, 2, 3), national_number=twice)
    make_loan(staff_a, at_a, "4000", date(2025, 2, 1))
    make_loan(staff_b, at_b, "6000", date(2025, 8, 1))
    # known at Hefboom without a national number: the same name and birth date find the person
    nameless = person(staff_a, last_name="Known", first_name="Kim", birth_date=date(1980, 1, 1))
    make_loan(staff_a, nameless, "1000", date(2025, 3, 1))
    no_number = person(staff_b, last_name="Known", first_name="Kim", birth_date=date(1980, 1, 1), national_number="")
    make_loan(staff_b, no_number, "1000", date(2025, 4, 1))
    for n in range(3):  # three other people, one file each
        make_loan(staff_b, person(staff_b, last_name=f"Solo{n}"), "500", date(2025, 5, 1))

    sector = impact_report(sector_scope(suppress=False), YEAR_2025)
    assert sector["financed"] == c(5, "13500.00")  # 7 files, 5 people
    assert sector["financed_by_several_institutions"] == 2
    assert sector["target_groups"]["women"]["persons"] == 5
    assert impact_report(institution_scope("microstart"), YEAR_2025)["financed"] == c(2, "5000.00")
    assert impact_report(institution_scope("hefboom"), YEAR_2025)["financed"] == c(5, "8500.00")
    assert "financed_by_several_institutions" not in impact_report(institution_scope("hefboom"), YEAR_2025)
    federation = impact_report(sector_scope(), YEAR_2025)
    assert federation["financed"] == c(5, "13500.00")
    assert federation["financed_by_several_institutions"] == "<5"
