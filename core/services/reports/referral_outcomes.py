"""Referral outcomes: referred, contacted, financed, conversion and days to first contact, by
referrer kind and by region, aggregated in SQL over the referrals received in a period."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import case, func, select

from core.extensions import db
from core.models.referrals import FINANCED, Referral, Referrer
from core.services.reports.common import MIN_CELL, SUPPRESSED, Period, Scope

DIMENSIONS = {"referrer_kind": Referrer.kind, "region": Referral.region}


def _days(start, end):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def _row(key, referred, contacted, financed, days, scope: Scope) -> dict:
    if scope.suppress and referred < MIN_CELL:
        return {"key": key, **dict.fromkeys(("referred", "contacted", "financed", "conversion",
                                              "days_to_first_contact"), SUPPRESSED)}
    return {"key": key, "referred": referred, "contacted": contacted, "financed": financed,
            "conversion": f"{financed / referred:.4f}" if referred else None,
            "days_to_first_contact": f"{float(days):.1f}" if days is not None else None}


def referral_outcomes(scope: Scope, period: Period = Period()) -> dict:
    """Per referrer kind and per region: counts, conversion (financed ÷ referred) and the average
    days from receipt to first contact. An institution's scope counts the referrals it took."""
    where = []
    if scope.institution_id is not None:
        where.append(Referral.institution_id == scope.institution_id)
    if period.start:
        where.append(Referral.received_at >= datetime.combine(period.start, time(), timezone.utc))
    if period.end:
        where.append(Referral.received_at < datetime.combine(period.end + timedelta(days=1), time(), timezone.utc))
    financed = func.sum(case(((Referral.status == FINANCED) | Referral.disbursed_at.is_not(None), 1), else_=0))
    start, end = period.iso()
    report = {"scope": scope.name, "from": start, "to": end}
    for name, column in DIMENSIONS.items():
        query = (select(column, func.count(Referral.id), func.count(Referral.first_contact_at), financed,
                        func.avg(_days(Referral.received_at, Referral.first_contact_at)))
                 .select_from(Referral).join(Referrer, Referrer.id == Referral.referrer_id)
                 .where(*where).group_by(column).order_by(column))
        report[name] = [_row(key, int(r), int(c), int(f or 0), d, scope) for key, r, c, f, d in db.session.execute(query)]
    return report
