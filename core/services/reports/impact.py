"""The impact report: who was financed, for how much, in which target groups, sectors and regions.

One SQL query over the loans disbursed in the period joined to their clients: amounts are microloan
principal plus honour loan. Target-group attributes are those frozen at intake; "young" is under 30
on the day of each disbursement.

Persons: in an institution's figures, distinct client files. In the sector's figures, distinct
*people*: one person with a client file at two institutions counts once (:func:`people`), and the
report says how many people were financed by more than one institution.
"""
from __future__ import annotations

from sqlalchemy import and_, case, distinct, extract, func, select

from core.extensions import db
from core.models.lending import Loan
from core.models.people import Client
from core.services.reports.common import (DISBURSED_STATUSES, Period, Scope, cell, cents, count_cell,
                                         euros, in_period)
from core.services.reports.cost import cost_section
from core.services.reports.people import people
from core.services.reports.outcomes import outcomes
from core.tenancy import REPORT, all_institutions

TARGET_GROUPS = ("women", "born_abroad", "young", "low_educated", "job_seekers", "disability")
# report key → the client's ``sector`` value
SECTORS = ("horeca", "retail", "services", "care", "transport", "construction", "other")
REGIONS = ("brussels", "wallonia", "flanders")
YOUNG_BEFORE = 30


def _ymd(column):
    return extract("year", column) * 10000 + extract("month", column) * 100 + extract("day", column)


def _conditions() -> dict[str, dict]:
    """Every cell's condition on a loan joined to its client, grouped by report section."""
    young = (_ymd(Loan.disbursed_on) - _ymd(Client.birth_date)) < YOUNG_BEFORE * 10000
    return {
        "target_groups": {
            "women": Client.intake_gender == "female",
            "born_abroad": Client.intake_born_abroad.is_(True),
            "young": young,
            "low_educated": Client.intake_low_educated.is_(True),
            "job_seekers": Client.intake_job_seeker.is_(True),
            "disability": Client.intake_disability.is_(True),
        },
        "sectors": {key: Client.sector == key for key in SECTORS},
        "regions": {key: Client.region == key for key in REGIONS},
    }


def impact_report(scope: Scope, period: Period = Period()) -> dict:
    """The impact figures of ``scope`` over ``period`` in the JSON shape of issue 8.

    Amounts are strings with two decimals; a federation cell under five persons is ``"<5"``. The
    sector's figures count people (:func:`people`) and add ``financed_by_several_institutions``.
    """
    sector = scope.institution_id is None
    persons = people() if sector else None
    who = persons.c.person_id if sector else Loan.client_id
    amount = cents(Loan.principal) + cents(Loan.honour_loan)
    columns = [func.count(distinct(who)), func.sum(amount)]
    sections = _conditions()
    for conditions in sections.values():
        for condition in conditions.values():
            columns.append(func.count(distinct(case((condition, who)))))
            columns.append(func.sum(case((condition, amount), else_=0)))
    where = [Loan.disbursed_on.is_not(None), Loan.status.in_(DISBURSED_STATUSES),
             *in_period(Loan.disbursed_on, period)]
    if not sector:
        where.append(Loan.institution_id == scope.institution_id)
    joined = select().select_from(Loan).join(
        Client, and_(Client.id == Loan.client_id, Client.institution_id == Loan.institution_id)).where(*where)
    if sector:
        joined = joined.join(persons, persons.c.client_id == Loan.client_id)
    with all_institutions("impact report (scope filtered explicitly)", scope=REPORT):
        row = list(db.session.execute(joined.add_columns(*columns)).one())
        several = db.session.scalar(_financed_by_several(joined, who)) if sector else None
    start, end = period.iso()
    report = {"scope": scope.name, "from": start, "to": end,
              "financed": cell(int(row[0] or 0), euros(row[1]), scope)}
    if sector:
        report["financed_by_several_institutions"] = count_cell(int(several or 0), scope)
    values = iter(row[2:])
    for section, conditions in sections.items():
        report[section] = {key: cell(int(next(values) or 0), euros(next(values)), scope) for key in conditions}
    report["cost"] = cost_section(scope, period)
    report["outcomes"] = outcomes(scope, period)
    return report


def _financed_by_several(joined, who):
    """How many people had a loan disbursed by more than one institution in the period."""
    people = (joined.add_columns(who.label("person"))
              .group_by(who).having(func.count(distinct(Loan.institution_id)) > 1).subquery())
    return select(func.count()).select_from(people)
