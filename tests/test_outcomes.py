"""Outcomes of the impact report against a hand-built portfolio with known follow-up answers:
one institution (unsuppressed) and the sector (people counted once, small cells suppressed)."""
from __future__ import annotations

import json
from datetime import date

import pytest

from core.services.reports import exports
from core.services.reports.common import Period, institution_scope, sector_scope
from core.services.reports.impact import impact_report
from core.services.reports.outcomes import outcomes
from tests.followup_helpers import answers, consent, record, run_intervals, set_cofinancing, withdraw
from tests.clients_data import national_number
from tests.reports_data import make_loan, person

YEAR_2023 = Period(date(2023, 1, 1), date(2023, 12, 31))
A_FIRST, B_FIRST = date(2023, 1, 15), date(2023, 2, 1)


@pytest.fixture
def followed(app, staff_a, staff_b):
    """microStart: a1..a4 disbursed on 2023-01-15 with consent (a4 withdraws it after answering), a5
    without consent, a6 disbursed in 2022. Hefboom: b1 (the same person as a1) .. b5."""
    twice = national_number(date(1985, 7, 30), 901)
    a = {n: person(staff_a, last_name=f"Alpha{n}", **({"national_number": twice} if n == 1 else {}))
         for n in range(1, 7)}
    first_loans = {n: make_loan(staff_a, a[n], "5000", A_FIRST if n != 6 else date(2022, 3, 1)) for n in a}
    make_loan(staff_a, a[1], "3000", date(2024, 5, 1))  # a second loan: the first one still counts
    set_cofinancing(staff_a, first_loans[1].loan, "10000")  # a bank credit at intake
    given = {n: consent(staff_a, a[n]) for n in (1, 2, 3, 4, 6)}
    b = {1: person(staff_b, last_name="Alpha1", national_number=twice)}
    b.update({n: person(staff_b, last_name=f"Beta{n}") for n in range(2, 6)})
    for n in b:
        make_loan(staff_b, b[n], "2000", B_FIRST)
        consent(staff_b, b[n])
    run_intervals(staff_a, A_FIRST)
    run_intervals(staff_a, date(2022, 3, 1))
    run_intervals(staff_b, B_FIRST, (6, 12, 24))
    # microStart's answers
    record(staff_a, a[1], 12, answers(fte="1.0"))
    record(staff_a, a[1], 24, answers(fte="2.5", credit=True))
    record(staff_a, a[1], 36, answers(fte="3", credit=True))
    record(staff_a, a[2], 12, answers(fte="0.5"))
    record(staff_a, a[2], 24, answers(active=False))
    record(staff_a, a[3], 24, answers(fte="1", credit=True))
    record(staff_a, a[4], 12, answers(fte="2", credit=True))
    withdraw(staff_a, a[4], given[4])
    record(staff_a, a[6], 12, answers(fte="9"))  # first disbursed in 2022: not in 2023's figures
    # Hefboom's answers
    for n in b:
        record(staff_b, b[n], 12, answers(fte="1.0"))
        record(staff_b, b[n], 24, answers(fte="1.0") if n != 5 else answers(active=False))
    return a, b


def months(followed_, answered, count, key):
    return {"followed": followed_, "answered": answered, key: count}


def test_outcomes_of_one_institution_are_the_hand_built_figures(followed):
    assert outcomes(institution_scope("microstart"), YEAR_2023) == {
        # a1, a2, a3 followed at each interval (a4 withdrew, a5 never consented, a6 is of 2022)
        "active_after_months": {"12": months(3, 2, 2, "active"),    # a1, a2 answered, both active
                                "24": months(3, 3, 2, "active"),    # a2 stopped
                                "36": months(3, 1, 1, "active")},   # a1 only answered
        "jobs_created": {"answered": 3, "fte": "4.0"},              # latest: a1 3.0, a2 stopped 0, a3 1.0
        "bank_credit_after_months": {"12": months(3, 2, 0, "bank_credit"),
                                     "24": months(3, 3, 2, "bank_credit"),  # a1, a3
                                     "36": months(3, 1, 1, "bank_credit")},
        "bank_credit_at_intake": {"followed": 3, "bank_credit": 1},  # a1's first loan was co-financed
    }


def test_outcomes_of_the_sector_count_people_once_and_suppress_small_cells(followed):
    assert outcomes(sector_scope(), YEAR_2023) == {
        # people: P1 (a1 = b1), a2, a3, b2, b3, b4, b5
        "active_after_months": {"12": months(7, 6, 6, "active"),        # a3 did not answer at 12
                                "24": months(7, 7, 5, "active"),        # a2 and b5 stopped
                                "36": months("<5", "<5", "<5", "active")},
        "jobs_created": {"answered": 7, "fte": "7.0"},  # P1 3.0 (a1 at 36), a3 1.0, b2-b4 1.0 each
        "bank_credit_after_months": {"12": months(7, 6, "<5", "bank_credit"),
                                     "24": months(7, 7, "<5", "bank_credit"),
                                     "36": months("<5", "<5", "<5", "bank_credit")},
        "bank_credit_at_intake": {"followed": 7, "bank_credit": "<5"},
    }


def test_the_federations_view_of_one_institution_is_suppressed(followed):
    figures = outcomes(institution_scope("microstart", suppress=True), YEAR_2023)
    assert figures["active_after_months"]["12"] == months("<5", "<5", "<5", "active")
    assert figures["jobs_created"] == {"answered": "<5", "fte": "<5"}


def test_outcomes_ride_in_the_impact_json_and_exports(followed):
    report = impact_report(institution_scope("microstart"), YEAR_2023)
    assert json.loads(json.dumps(report))["outcomes"]["jobs_created"] == {"answered": 3, "fte": "4.0"}
    csv_text = exports.to_csv(exports.impact_sheets(report))
    assert "Outcomes,outcomes,Businesses still active,active_after_months,24,3,3,2," in csv_text
    assert "Outcomes,outcomes,Jobs created besides the entrepreneur,jobs_created,,,3,,4.0" in csv_text


def test_withdrawing_the_consent_drops_earlier_answers(followed, staff_a):
    a, _ = followed
    from tests.followup_helpers import followup_of

    assert followup_of(staff_a, a[4], 12).status == "answered"  # kept on record, out of the figures
    assert outcomes(institution_scope("microstart"), Period(date(2023, 1, 15), date(2023, 1, 15))) \
        ["active_after_months"]["12"]["followed"] == 3


def test_the_page_shows_outcomes_with_their_definitions(followed, as_user, staff_a):
    page = as_user(staff_a.admin).get("/reports/impact?from=2023-01-01&to=2023-12-31").get_data(as_text=True)
    assert 'id="impact-outcomes"' in page and "Followed up" in page and "Jobs created" in page
