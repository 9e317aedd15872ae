"""The federation's referral funnel: counts and times, aggregated in SQL, no personal data."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from core.extensions import db
from core.models import Institution as InstitutionRow
from core.models.referrals import FINANCED, Referral, Referrer

DIMENSIONS = ("referrer", "institution", "region", "month")


@dataclass(frozen=True)
class FunnelRow:
    key: str
    received: int
    offered: int
    contacted: int
    financed: int
    avg_days_to_contact: float | None

    @property
    def conversion(self) -> float | None:
        return self.financed / self.received if self.received else None


def _dimension(dimension: str):
    if dimension == "referrer":
        return Referrer.name
    if dimension == "institution":
        return func.coalesce(InstitutionRow.slug, "—")
    if dimension == "region":
        return Referral.region
    return func.substr(func.cast(Referral.received_at, db.String), 1, 7)


def funnel(dimension: str) -> list[FunnelRow]:
    """One row per referrer, institution, region or month (YYYY-MM)."""
    key = _dimension(dimension).label("key")
    days = _days_between(Referral.received_at, Referral.first_contact_at)
    query = (select(key, func.count(Referral.id), func.count(Referral.offered_at),
                    func.count(Referral.first_contact_at),
                    func.sum(case((Referral.status == FINANCED, 1), else_=0)), func.avg(days))
             .select_from(Referral).join(Referrer, Referrer.id == Referral.referrer_id)
             .outerjoin(InstitutionRow, InstitutionRow.id == Referral.institution_id)
             .group_by(key).order_by(key))
    return [FunnelRow(str(k), r, o, c, int(f or 0), float(d) if d is not None else None)
            for k, r, o, c, f, d in db.session.execute(query)]


def _days_between(start, end):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


# --- the banks' duty to inform (issue 13, point 5) -------------------------------------------------

#: What became of a referral, for the referrer's report: each status in one of these columns.
OUTCOMES = {"open": ("received", "offered", "accepted", "contacted"), "financed": ("financed",),
            "not_financed": ("not_financed",), "no_match": ("no_match",), "withdrawn": ("withdrawn",),
            "linked": ("linked",)}


@dataclass(frozen=True)
class DutyRow:
    """One referrer: how many refused applicants it referred, by channel, and what became of them."""

    referrer: str
    kind: str
    channels: dict
    outcomes: dict

    @property
    def referred(self) -> int:
        return sum(self.channels.values())


def duty_to_inform() -> list[DutyRow]:
    """Per referrer (every referrer, also one that referred nobody yet): referrals by channel (its
    API, its advisers' portal, its own self-referral link) and by outcome; counts only."""
    from core.models.referrals import CHANNELS

    rows = {referrer.id: DutyRow(referrer.name, referrer.kind, dict.fromkeys(CHANNELS, 0), dict.fromkeys(OUTCOMES, 0))
            for referrer in db.session.scalars(select(Referrer).order_by(Referrer.name))}
    outcome_of = {status: outcome for outcome, statuses in OUTCOMES.items() for status in statuses}
    counted = (select(Referral.referrer_id, Referral.channel, Referral.status, func.count())
               .group_by(Referral.referrer_id, Referral.channel, Referral.status))
    for referrer_id, channel, status, count in db.session.execute(counted):
        row = rows[referrer_id]
        row.channels[channel] = row.channels.get(channel, 0) + count
        row.outcomes[outcome_of.get(status, "open")] += count
    return list(rows.values())
