"""Cost per person financed and a social-return estimate, stated with their assumptions.

The institution's admin enters its budget per calendar year (financing and coaching) and may change
every assumption of the estimate; a value never changed is the documented default below. The
figures are **estimates from those assumptions, never an audited study** (the memorandum's 2.53
euros per euro comes from KPMG's study of microStart, every three years).

- **cost per person** = the year's budget ÷ the persons financed in that calendar year (as the
  memorandum computes its 6,250 euros: "the yearly budget divided by the persons actually financed");
- **social return per euro** = (job seekers financed × share who left unemployment × public cost of
  a job seeker a year × years counted + persons financed × other benefit per person) ÷ budget.

The year is that of the period's end, else of its start, else the current year. The sector's
budget is the sum of the institutions' budgets; its cost is left out while an institution that
financed someone that year has entered no budget, and its estimate uses the default assumptions.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, distinct, func, select

from core import clock
from core.extensions import db
from core.models.impact_costs import InstitutionBudget, SocialReturnAssumption
from core.models.lending import Loan
from core.models.people import Client
from core.models.types import to_money
from core.services.errors import ValidationFailed
from core.services.reports.common import (DISBURSED_STATUSES, MIN_CELL, SUPPRESSED, Period, Scope, cents,
                                         euros, in_period)
from core.services.reports.people import people
from core.tenancy import REPORT, all_institutions

FIRST_YEAR, LAST_YEAR = 2000, 2100
MEMORANDUM = {"cost_per_person": Decimal("6250.00"), "social_return": Decimal("2.53"),
              "public_cost_per_job_seeker": Decimal("40000.00")}


@dataclass(frozen=True)
class Assumption:
    """One editable assumption of the estimate: its default, unit (``eur``, ``percent``,
    ``years``), upper bound, label and the documentation shown next to the figure."""

    key: str
    default: Decimal
    unit: str
    maximum: Decimal | None
    label: object
    help: object


ASSUMPTIONS = (
    Assumption("public_cost_per_job_seeker", Decimal("40000.00"), "eur", None,
               _l("Public cost of a job seeker (EUR a year)"),
               _l("What one job seeker costs society in a year (benefits, support, taxes and contributions "
                  "not paid). Default: 40,000, the memorandum's upper figure (\"up to 40,000 euros\").")),
    Assumption("share_left_unemployment", Decimal("50.00"), "percent", Decimal("100"),
               _l("Job seekers financed who left unemployment (%)"),
               _l("Of the persons financed who were job seekers at intake, the share counted as no longer "
                  "costing the public purse. Default: 50 %, without a source: set it from your own "
                  "follow-ups (businesses still active).")),
    Assumption("years_counted", Decimal("1.00"), "years", Decimal("10"),
               _l("Years of avoided cost counted"),
               _l("For how many years the public cost avoided is counted for each of those persons. "
                  "Default: 1, the year of the budget.")),
    Assumption("other_benefit_per_person", Decimal("0.00"), "eur", None,
               _l("Other benefit per person financed (EUR)"),
               _l("Anything else you count for every person financed, such as taxes and social "
                  "contributions paid or the jobs they create. Default: 0, unless you have a figure.")),
)
BY_KEY = {a.key: a for a in ASSUMPTIONS}


def report_year(period: Period) -> int:
    """The calendar year of the cost figures: the period's end, else its start, else this year."""
    chosen = period.end or period.start or clock.today()
    return chosen.year


# --- what the admin enters -------------------------------------------------------------------

def budgets() -> list[InstitutionBudget]:
    """The current institution's budgets, latest year first."""
    return list(db.session.scalars(select(InstitutionBudget).order_by(InstitutionBudget.year.desc())))


def save_budget(year: int | None, amount: Decimal | None) -> InstitutionBudget:
    """Store the current institution's budget for ``year`` (replacing the one entered before).

    ``ValidationFailed`` names ``year`` (missing, or not between 2000 and 2100) or ``budget``
    (missing or negative); nothing is written then. A float is refused (``TypeError``).
    """
    errors = {}
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        errors["year"] = _l("Enter a year between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)
    if amount is None:
        errors["budget"] = _l("Enter the budget in EUR.")
    elif to_money(amount) < 0:
        errors["budget"] = _l("A budget cannot be negative.")
    if errors:
        raise ValidationFailed(errors)
    row = db.session.scalar(select(InstitutionBudget).where(InstitutionBudget.year == year))
    if row is None:
        row = InstitutionBudget(year=year, amount=to_money(amount))
        db.session.add(row)
    else:
        row.amount = to_money(amount)
    db.session.commit()
    return row


def assumptions() -> dict[str, Decimal]:
    """The current institution's assumptions: what the admin set, else the default."""
    return _effective(db.session.scalars(select(SocialReturnAssumption)))


def _effective(rows) -> dict[str, Decimal]:
    stored = {row.key: row.value for row in rows}
    values = {}
    for a in ASSUMPTIONS:
        try:
            values[a.key] = Decimal(stored[a.key]) if a.key in stored else a.default
        except ArithmeticError:
            values[a.key] = a.default
    return values


def save_assumptions(values: dict[str, Decimal | None]) -> dict[str, Decimal]:
    """Store every assumption of the current institution at once; ``ValidationFailed`` names each
    missing, negative or too large value and nothing is written then."""
    errors, clean = {}, {}
    for a in ASSUMPTIONS:
        value = values.get(a.key)
        if isinstance(value, float):
            raise TypeError("assumptions are Decimal, never float")
        if value is None:
            errors[a.key] = _l("Enter a value.")
        elif value < 0:
            errors[a.key] = _l("The value cannot be negative.")
        elif a.maximum is not None and value > a.maximum:
            errors[a.key] = _l("The value must be at most %(maximum)s.", maximum=a.maximum)
        else:
            clean[a.key] = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if errors:
        raise ValidationFailed(errors)
    stored = {row.key: row for row in db.session.scalars(select(SocialReturnAssumption))}
    for key, value in clean.items():
        if key in stored:
            stored[key].value = str(value)
        else:
            db.session.add(SocialReturnAssumption(key=key, value=str(value)))
    db.session.commit()
    return clean


# --- the report's cost section ---------------------------------------------------------------

def cost_section(scope: Scope, period: Period) -> dict:
    """The impact report's ``cost`` object for ``scope``: the year, budget, persons financed that
    year, cost per person and the social-return estimate with every assumption it used.

    Amounts and ratios are strings of Decimals; None where a figure cannot be computed (no budget,
    nobody financed); ``"<5"`` in the federation's view when under five persons.
    """
    year = report_year(period)
    with all_institutions("impact report cost (scope filtered explicitly)", scope=REPORT):
        persons, job_seekers = _financed(scope, year)
        budget, without = _budget(scope, year)
        values = _scope_assumptions(scope)
    complete = budget is not None and not without
    per_person = (budget / persons).quantize(Decimal("0.01"), ROUND_HALF_UP) if complete and persons else None
    benefit = _benefit(persons, job_seekers, values)
    estimate = (benefit / budget).quantize(Decimal("0.01"), ROUND_HALF_UP) if complete and budget else None
    few, few_seekers = (scope.suppress and n < MIN_CELL for n in (persons, job_seekers))
    section = {
        "year": year,
        "budget": _text(budget),
        "persons": SUPPRESSED if few else persons,
        "cost_per_person": SUPPRESSED if few else _text(per_person),
        "social_return": {
            "estimate": SUPPRESSED if few or few_seekers else _text(estimate),
            "benefit": SUPPRESSED if few or few_seekers else _text(to_money(benefit)),
            "job_seekers": SUPPRESSED if few_seekers else job_seekers,
            "assumptions": {key: _text(value) for key, value in values.items()},
        },
    }
    if scope.institution_id is None:
        section["institutions_without_budget"] = without
    return section


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _benefit(persons: int, job_seekers: int, values: dict[str, Decimal]) -> Decimal:
    avoided = (job_seekers * values["share_left_unemployment"] / 100 * values["public_cost_per_job_seeker"]
               * values["years_counted"])
    return avoided + persons * values["other_benefit_per_person"]


def _in_year(year: int) -> list:
    return [Loan.disbursed_on.is_not(None), Loan.status.in_(DISBURSED_STATUSES),
            *in_period(Loan.disbursed_on, Period(date(year, 1, 1), date(year, 12, 31)))]


def _financed(scope: Scope, year: int) -> tuple[int, int]:
    """Persons financed in ``year`` and, of them, job seekers at intake (people in the sector)."""
    sector = scope.institution_id is None
    persons = people() if sector else None
    who = persons.c.person_id if sector else Loan.client_id
    query = (select(func.count(distinct(who)),
                    func.count(distinct(case((Client.intake_job_seeker.is_(True), who)))))
             .select_from(Loan)
             .join(Client, and_(Client.id == Loan.client_id, Client.institution_id == Loan.institution_id))
             .where(*_in_year(year)))
    if sector:
        query = query.join(persons, persons.c.client_id == Loan.client_id)
    else:
        query = query.where(Loan.institution_id == scope.institution_id)
    row = db.session.execute(query).one()
    return int(row[0] or 0), int(row[1] or 0)


def _budget(scope: Scope, year: int) -> tuple[Decimal | None, int]:
    """The scope's budget for ``year`` (None if none entered) and, for the sector, how many
    institutions financed someone that year without entering a budget."""
    entered = select(InstitutionBudget).where(InstitutionBudget.year == year)
    if scope.institution_id is not None:
        row = db.session.scalar(entered.where(InstitutionBudget.institution_id == scope.institution_id))
        return (row.amount if row else None), 0
    total = db.session.execute(select(func.count(), func.sum(cents(InstitutionBudget.amount)))
                               .where(InstitutionBudget.year == year)).one()
    with_budget = select(InstitutionBudget.institution_id).where(InstitutionBudget.year == year)
    without = db.session.scalar(select(func.count(distinct(Loan.institution_id)))
                                .where(*_in_year(year), Loan.institution_id.not_in(with_budget)))
    return (euros(total[1]) if total[0] else None), int(without or 0)


def _scope_assumptions(scope: Scope) -> dict[str, Decimal]:
    if scope.institution_id is None:
        return {a.key: a.default for a in ASSUMPTIONS}
    return _effective(db.session.scalars(select(SocialReturnAssumption)
                                         .where(SocialReturnAssumption.institution_id == scope.institution_id)))


def cost_rows(section: dict) -> list[list]:
    """The ``cost`` object as ``[figure, value]`` rows for CSV and XLSX (assumptions as
    ``assumption.<key>``; an empty value where the JSON has null)."""
    social = section["social_return"]
    rows = [["year", section["year"]], ["budget", section["budget"]], ["persons", section["persons"]],
            ["cost_per_person", section["cost_per_person"]], ["social_return", social["estimate"]],
            ["benefit", social["benefit"]], ["job_seekers", social["job_seekers"]]]
    if "institutions_without_budget" in section:
        rows.append(["institutions_without_budget", section["institutions_without_budget"]])
    rows += [[f"assumption.{key}", value] for key, value in social["assumptions"].items()]
    return [[figure, "" if value is None else value] for figure, value in rows]
