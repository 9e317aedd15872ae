"""Outcomes of the impact report (issue 16): what became of the financed entrepreneurs, from their
follow-ups (``core.services.followups``), aggregated in SQL.

Counted: follow-ups of clients whose **first disbursement** falls in the report's period and whose
``impact_surveys`` consent stands today (a withdrawn consent takes earlier answers out). For each
of 12, 24 and 36 months: ``followed`` (a follow-up fell due), ``answered``, and ``active`` (the
business still runs) or ``bank_credit`` (a bank credit obtained since the microcredit). Jobs
created: each person's latest answer (a stopped business counts 0). In the sector's figures a
person is counted once across institutions (``impact.people``). Every count under five, and the
jobs of fewer than five answers, is ``"<5"`` in the federation's view.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, distinct, exists, func, select, type_coerce

from core.extensions import db
from core.models import Consent, Loan
from core.models.followups import Followup
from core.services.followups import CONSENT_KIND
from core.services.reports.common import SUPPRESSED, Period, Scope, count_cell, in_period
from core.tenancy import REPORT, all_institutions

AFTER_MONTHS = (12, 24, 36)


def _consenting():
    return exists().where(Consent.client_id == Followup.client_id, Consent.kind == CONSENT_KIND,
                          Consent.withdrawn_on.is_(None), Consent.institution_id == Followup.institution_id)


def _base(scope: Scope, period: Period, who_label: bool = True):
    """The counted follow-ups with ``who`` (client file, or person for the sector)."""
    from core.services.reports.impact import people

    where = [_consenting(), *in_period(Followup.base_on, period)]
    if scope.institution_id is not None:
        where.append(Followup.institution_id == scope.institution_id)
        return select().select_from(Followup).where(*where), Followup.client_id
    persons = people()
    joined = select().select_from(Followup).join(persons, persons.c.client_id == Followup.client_id).where(*where)
    return joined, persons.c.person_id


def _after_months(joined, who, answer) -> list:
    answered = Followup.status == "answered"
    columns = []
    for months in AFTER_MONTHS:
        at = Followup.months == months
        columns += [func.count(distinct(case((at, who)))),
                    func.count(distinct(case((and_(at, answered), who)))),
                    func.count(distinct(case((and_(at, answered, answer.is_(True)), who))))]
    return list(db.session.execute(joined.add_columns(*columns)).one())


def _jobs(joined, who) -> tuple[int, Decimal]:
    rank = func.row_number().over(partition_by=who, order_by=(Followup.months.desc(), Followup.answered_on.desc(),
                                                              Followup.id.desc()))
    latest = (joined.where(Followup.status == "answered")
              .add_columns(who.label("who"), type_coerce(Followup.jobs_fte, BigInteger).label("fte"),
                           rank.label("rank")).subquery())
    count, total = db.session.execute(select(func.count(), func.sum(func.coalesce(latest.c.fte, 0)))
                                      .where(latest.c.rank == 1)).one()
    return int(count or 0), Decimal(int(total or 0)) / 1000


def _at_intake(joined, who) -> tuple[int, int]:
    with_loan = joined.join(Loan, Loan.id == Followup.loan_id)
    row = db.session.execute(with_loan.add_columns(
        func.count(distinct(who)),
        func.count(distinct(case((type_coerce(Loan.bank_cofinancing, BigInteger) > 0, who)))))).one()
    return int(row[0] or 0), int(row[1] or 0)


def outcomes(scope: Scope, period: Period = Period()) -> dict:
    """The ``outcomes`` object of the impact report of ``scope`` over ``period`` (see module doc)."""
    with all_institutions("impact outcomes (scope filtered explicitly)", scope=REPORT):
        joined, who = _base(scope, period)
        active = _after_months(joined, who, Followup.active)
        credit = _after_months(joined, who, Followup.bank_credit)
        answered, fte = _jobs(joined, who)
        followed, intake_credit = _at_intake(joined, who)

    def by_months(values, key):
        values = iter(values)
        return {str(months): {"followed": count_cell(next(values), scope), "answered": count_cell(next(values), scope),
                              key: count_cell(next(values), scope)} for months in AFTER_MONTHS}

    small = scope.suppress and answered < 5
    return {"active_after_months": by_months(active, "active"),
            "jobs_created": {"answered": count_cell(answered, scope),
                             "fte": SUPPRESSED if small else f"{fte.quantize(Decimal('0.1'))}"},
            "bank_credit_after_months": by_months(credit, "bank_credit"),
            "bank_credit_at_intake": {"followed": count_cell(followed, scope),
                                      "bank_credit": count_cell(intake_credit, scope)}}
