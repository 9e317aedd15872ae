"""Issue 16, points 3 and 5: the cost per person and the social-return estimate with their
assumptions, against hand-built figures; the sector's count of people across institutions."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.models.impact_costs import InstitutionBudget, SocialReturnAssumption
from core.services.errors import ValidationFailed
from core.services.reports import cost
from core.services.reports.common import Period, institution_scope, sector_scope
from core.services.reports.impact import impact_report
from core.tenancy import acting_for, all_institutions
from tests.clients_data import national_number
from tests.conftest import make_staff
from tests.reports_data import make_loan, person

YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31))
DEFAULTS = {"public_cost_per_job_seeker": "40000.00", "share_left_unemployment": "50.00",
            "years_counted": "1.00", "other_benefit_per_person": "0.00"}


@pytest.fixture
def credal(app):
    return make_staff("credal")


@pytest.fixture
def four_financed(app, staff_a):
    """microStart finances four persons in 2025, two of them job seekers at intake, and one more in 2024."""
    for n, status in enumerate(("job_seeker", "job_seeker", "employed", "self_employed")):
        client = person(staff_a, last_name=f"Cost{n}", employment_status=status)
        make_loan(staff_a, client, "5000", date(2025, 3 + n, 1))
    make_loan(staff_a, person(staff_a, last_name="Earlier"), "5000", date(2024, 6, 1))


def budget(staff, year, amount):
    with acting_for(staff.institution_id):
        return cost.save_budget(year, Decimal(amount))


def test_cost_per_person_is_the_budget_over_the_persons_financed_that_year(four_financed, staff_a):
    budget(staff_a, 2025, "25000.00")
    report = impact_report(institution_scope("microstart"), YEAR_2025)
    assert report["cost"] == {
        "year": 2025, "budget": "25000.00", "persons": 4, "cost_per_person": "6250.00",
        # 2 job seekers × 50 % × 40,000 × 1 year = 40,000 for 25,000 spent
        "social_return": {"estimate": "1.60", "benefit": "40000.00", "job_seekers": 2, "assumptions": DEFAULTS},
    }
    json.dumps(report)


def test_the_memorandum_figures_come_out_of_stated_assumptions(four_financed, staff_a):
    """6,250 EUR a person and 2.53 EUR per euro: 40,000 avoided + 4 × 5,812.50 other = 63,250 for 25,000."""
    budget(staff_a, 2025, "25000")
    with acting_for(staff_a.institution_id):
        cost.save_assumptions({**{k: Decimal(v) for k, v in DEFAULTS.items()},
                               "other_benefit_per_person": Decimal("5812.50")})
    section = impact_report(institution_scope("microstart"), YEAR_2025)["cost"]
    assert (section["cost_per_person"], section["social_return"]["estimate"]) == ("6250.00", "2.53")
    assert section["social_return"]["assumptions"]["other_benefit_per_person"] == "5812.50"
    assert section["social_return"]["benefit"] == "63250.00"


def test_without_a_budget_the_figures_are_null_and_the_year_follows_the_period(four_financed, staff_a):
    budget(staff_a, 2024, "10000")
    section = impact_report(institution_scope("microstart"), YEAR_2025)["cost"]
    assert (section["year"], section["budget"], section["cost_per_person"]) == (2025, None, None)
    assert section["persons"] == 4 and section["social_return"]["estimate"] is None
    earlier = impact_report(institution_scope("microstart"), Period(date(2024, 1, 1), None))["cost"]
    assert (earlier["year"], earlier["persons"], earlier["cost_per_person"]) == (2024, 1, "10000.00")
    assert impact_report(institution_scope("microstart"))["cost"]["year"] == clock.today().year


def _stored_rows():
    with all_institutions("test"):
        return (db.session.scalar(select(func.count()).select_from(InstitutionBudget)),
                db.session.scalar(select(func.count()).select_from(SocialReturnAssumption)))


@pytest.mark.parametrize("year, amount, fields", [
    (2025, Decimal("-1.00"), {"budget"}), (2025, None, {"budget"}), (1999, Decimal("10"), {"year"}),
    (None, Decimal("-5"), {"year", "budget"}),
])
def test_a_bad_budget_names_its_field_and_writes_nothing(app, staff_a, year, amount, fields):
    with acting_for(staff_a.institution_id), pytest.raises(ValidationFailed) as failed:
        cost.save_budget(year, amount)
    assert set(failed.value.errors) == fields
    assert _stored_rows() == (0, 0)


def test_a_budget_is_never_a_float_and_a_second_entry_replaces_the_first(app, staff_a):
    with acting_for(staff_a.institution_id), pytest.raises(TypeError):
        cost.save_budget(2025, 1000.5)
    budget(staff_a, 2025, "1000.00")
    budget(staff_a, 2025, "2000.00")
    with acting_for(staff_a.institution_id):
        assert [(b.year, b.amount) for b in cost.budgets()] == [(2025, Decimal("2000.00"))]


def test_bad_assumptions_name_each_field_and_write_nothing(app, staff_a):
    values = {k: Decimal(v) for k, v in DEFAULTS.items()}
    with acting_for(staff_a.institution_id), pytest.raises(ValidationFailed) as failed:
        cost.save_assumptions({**values, "share_left_unemployment": Decimal("101"),
                               "public_cost_per_job_seeker": Decimal("-1"), "years_counted": None})
    assert set(failed.value.errors) == {"share_left_unemployment", "public_cost_per_job_seeker", "years_counted"}
    assert _stored_rows() == (0, 0)


def test_another_institutions_budget_and_assumptions_stay_its_own(four_financed, staff_a, staff_b):
    budget(staff_b, 2025, "99999.00")
    with acting_for(staff_b.institution_id):
        cost.save_assumptions({**{k: Decimal(v) for k, v in DEFAULTS.items()}, "years_counted": Decimal("3")})
    with acting_for(staff_a.institution_id):
        assert cost.budgets() == [] and cost.assumptions()["years_counted"] == Decimal("1.00")
    section = impact_report(institution_scope("microstart"), YEAR_2025)["cost"]
    assert section["budget"] is None and section["social_return"]["assumptions"] == DEFAULTS
    assert impact_report(institution_scope("hefboom"), YEAR_2025)["cost"]["budget"] == "99999.00"


def test_the_sector_sums_budgets_and_says_who_has_none(four_financed, staff_a, staff_b, credal):
    make_loan(staff_b, person(staff_b, last_name="HefCost"), "1000", date(2025, 5, 1))
    budget(staff_a, 2025, "25000")
    budget(credal, 2025, "5000")  # entered, though Crédal financed nobody in 2025
    sector = impact_report(sector_scope(suppress=False), YEAR_2025)["cost"]
    assert sector == {"year": 2025, "budget": "30000.00", "persons": 5, "cost_per_person": None,
                      "social_return": {"estimate": None, "benefit": "60000.00", "job_seekers": 3,
                                        "assumptions": DEFAULTS},
                      "institutions_without_budget": 1}  # Hefboom financed someone, entered no budget
    budget(staff_b, 2025, "5000")
    sector = impact_report(sector_scope(suppress=False), YEAR_2025)["cost"]
    assert (sector["budget"], sector["cost_per_person"], sector["social_return"]["estimate"]) == \
        ("35000.00", "7000.00", "1.71")
    assert sector["institutions_without_budget"] == 0
    federation = impact_report(sector_scope(), YEAR_2025)["cost"]
    assert (federation["persons"], federation["cost_per_person"]) == (5, "7000.00")
    assert federation["social_return"]["job_seekers"] == federation["social_return"]["estimate"] == "<5"
    one = impact_report(institution_scope("hefboom", suppress=True), YEAR_2025)["cost"]
    assert (one["budget"], one["persons"], one["cost_per_person"]) == ("5000.00", "<5", "<5")


# --- point 5: the sector's count of people ---------------------------------------------------

@pytest.mark.parametrize("known_by", ["national_number", "name_and_birth_date"])
def test_one_person_financed_by_microstart_and_credal_counts_once_in_the_sector(app, staff_a, credal, known_by):
    """Counted once in the sector, once in each institution; the sector says one person was
    financed by more than one institution. By the keyed hash of the national number, or (no
    number at either institution) by name and birth date, whatever the case and accents."""
    born = date(1988, 4, 12)
    number = national_number(born, 777) if known_by == "national_number" else ""
    at_ms = person(staff_a, last_name="Dupré", first_name="Élise", birth_date=born, national_number=number)
    at_cr = person(credal, last_name="DUPRE", first_name="elise", birth_date=born, national_number=number)
    make_loan(staff_a, at_ms, "3000", date(2025, 2, 1))
    make_loan(credal, at_cr, "2000", date(2025, 9, 1))
    other = person(credal, last_name="Dupré", first_name="Élise", birth_date=date(1988, 4, 13), national_number="")
    make_loan(credal, other, "1000", date(2025, 10, 1))  # a day apart in birth: someone else

    sector = impact_report(sector_scope(suppress=False), YEAR_2025)
    assert sector["financed"] == {"persons": 2, "amount": "6000.00"}
    assert sector["financed_by_several_institutions"] == 1
    assert sector["cost"]["persons"] == 2
    assert impact_report(institution_scope("microstart"), YEAR_2025)["financed"] == {"persons": 1, "amount": "3000.00"}
    assert impact_report(institution_scope("credal"), YEAR_2025)["financed"] == {"persons": 2, "amount": "3000.00"}
    if number:  # the federation's data hold counts, never the number nor its hash
        assert number not in json.dumps(sector) and at_ms.national_number_hash not in json.dumps(sector)


def test_the_cli_json_and_csv_carry_the_cost(runner, four_financed, staff_a):
    from core.cli import main

    budget(staff_a, 2025, "25000")
    result = runner.invoke(main, ["report", "impact", "--institution", "microstart", "--to", "2025-12-31",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["cost"]
    assert (data["year"], data["budget"], data["persons"], data["cost_per_person"]) == (2025, "25000.00", 4, "6250.00")
    result = runner.invoke(main, ["report", "impact", "--sector", "--to", "2025-12-31", "--format", "csv"])
    lines = result.output.splitlines()
    assert "table,figure,value" in lines and "cost,budget,25000.00" in lines
    assert "cost,persons,<5" in lines and "cost,cost_per_person,<5" in lines  # the federation's suppression
    assert "cost,institutions_without_budget,0" in lines
