"""Building follow-ups for tests through the real services: the consent, the daily chore's
``send_due`` on the day each interval falls due, and the coach's recording of the answers."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from core.extensions import db
from core.models.followups import Followup
from core.models.mail import OutboxMail
from core.services import clients, followups
from core.tenancy import acting_for

TOKEN_RE = re.compile(r"/followup/([A-Za-z0-9_\-]+)")


def consent(staff, client, on: date = date(2022, 1, 1)):
    with acting_for(staff.institution_id):
        given = clients.record_consent(client.id, kind="impact_surveys", given_on=on, method="paper",
                                       user=staff.officer)
        db.session.commit()
        return given


def withdraw(staff, client, given) -> None:
    with acting_for(staff.institution_id):
        clients.withdraw_consent(given.id, client_id=client.id)
        db.session.commit()


def run_chore(staff, on: date):
    """The daily chore's work for ``staff``'s institution on day ``on``."""
    with acting_for(staff.institution_id):
        return followups.send_due(on)


def run_intervals(staff, first: date, months=(6, 12, 24, 36)) -> None:
    for interval in months:
        run_chore(staff, first + relativedelta(months=interval))


def followup_of(staff, client, months: int) -> Followup:
    db.session.expire_all()  # as stored, after requests made in their own sessions
    with acting_for(staff.institution_id):
        return db.session.scalar(select(Followup).where(Followup.client_id == client.id, Followup.months == months))


def answers(active: bool = True, fte: str | None = "1.0", credit: bool = False, **more) -> dict:
    raw = {"active": "yes" if active else "no", "jobs_fte": fte if active else "",
           "bank_credit": "yes" if credit else "no", "revenue_band": "under_25k",
           "bank_credit_kind": "investment" if credit else "",
           "stopped_reason": "" if active else "finances", "situation": "" if active else "employed"}
    raw.update(more)
    return raw


def record(staff, client, months: int, raw: dict) -> Followup:
    followup = followup_of(staff, client, months)
    with acting_for(staff.institution_id):
        return followups.record_by_coach(client.id, followup.id, raw, user=staff.coach)


def tokens_mailed() -> list[str]:
    """The follow-up tokens in the queued mails, oldest first."""
    bodies = db.session.scalars(select(OutboxMail.body_text).where(OutboxMail.kind == "followup")
                                .order_by(OutboxMail.id))
    return [m.group(1) for body in bodies for m in [TOKEN_RE.search(body)] if m]


def set_cofinancing(staff, loan, amount: str) -> None:
    with acting_for(staff.institution_id):
        loan = db.session.merge(loan)
        loan.bank_cofinancing = Decimal(amount)
        db.session.commit()
