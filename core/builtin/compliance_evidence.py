"""Core's automatic compliance evidence, from data that exists today: accounts and roles, the
audit trail, the sign-in protections; and from lending: the total cost and APR of every offer,
two-person credit decisions, PAR30 at every month end of the period.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.extensions import db
from core.plugin_api import Evidence, EvidenceContext, EvidenceProvider, hookimpl

STARTER = "eu-code-summary"


def _period_bounds(context: EvidenceContext) -> tuple[datetime, datetime]:
    start = datetime.combine(context.period_start, time.min, timezone.utc)
    end = datetime.combine(context.period_end + timedelta(days=1), time.min, timezone.utc)
    return start, end


def personal_accounts(context: EvidenceContext) -> Evidence:
    """Active accounts by role: everyone signs in personally, with a role."""
    from core.models import User

    rows = db.session.execute(select(User.role, func.count()).where(User.active.is_(True))
                              .group_by(User.role).order_by(User.role)).all()
    if not rows:
        return Evidence(_l("No active user account."), False)
    counts = ", ".join(f"{role}: {count}" for role, count in rows)
    return Evidence(_l("Personal accounts with a role, active now: %(counts)s.", counts=counts), True)


def audit_trail_activity(context: EvidenceContext) -> Evidence:
    """Changes recorded in the audit trail during the period."""
    from core.models import AuditEntry

    start, end = _period_bounds(context)
    changes, people = db.session.execute(
        select(func.count(), func.count(func.distinct(AuditEntry.user_id)))
        .where(AuditEntry.at >= start, AuditEntry.at < end)).one()
    return Evidence(_l("%(changes)d changes recorded with who and when during the period, by "
                       "%(people)d people.", changes=changes, people=people), changes > 0)


def sign_in_protection(context: EvidenceContext) -> Evidence:
    """The sign-in protections configured on this server."""
    config = current_app.config
    return Evidence(_l("Passwords are hashed with argon2; sign-in is blocked after %(failures)d failures "
                       "within %(minutes)d minutes; idle sessions end after %(idle)d minutes.",
                       failures=config["MICROFIN_LOGIN_MAX_FAILURES"],
                       minutes=config["MICROFIN_LOGIN_WINDOW_MINUTES"],
                       idle=config["MICROFIN_IDLE_MINUTES"]), True)


def _decided_in_period(context: EvidenceContext):
    from core.models import Loan

    start, end = _period_bounds(context)
    return list(db.session.scalars(select(Loan).where(Loan.decided_at >= start, Loan.decided_at < end)))


def offers_disclose_cost(context: EvidenceContext) -> Evidence:
    """Every loan approved in the period: its offer's total cost of borrowing and APR computed."""
    from core.services import loans

    approved = [l for l in _decided_in_period(context) if l.status != "rejected"]
    if not approved:
        return Evidence(_l("No loan was approved during the period."), None)
    failures = 0
    for loan in approved:
        try:
            loans.offer(loan)
        except (ValueError, ArithmeticError):
            failures += 1
    return Evidence(_l("%(count)d offers approved during the period; the offer page, its print view and "
                       "PDF showed the total cost of borrowing and the APR for %(shown)d of them.",
                       count=len(approved), shown=len(approved) - failures), failures == 0)


def two_person_decisions(context: EvidenceContext) -> Evidence:
    """Credit decisions of the period taken by another person than the drafter."""
    decided = _decided_in_period(context)
    if not decided:
        return Evidence(_l("No credit decision during the period."), None)
    same = sum(1 for l in decided if l.decided_by_id == l.drafted_by_id)
    return Evidence(_l("%(count)d credit decisions during the period, %(same)d by the person who drafted "
                       "the application.", count=len(decided), same=same), same == 0)


def par30_monthly(context: EvidenceContext) -> Evidence:
    """PAR30 (standard definition) at the end of every month of the period."""
    from datetime import date

    from core.services import repayments
    from core.services.schedules import add_months

    figures, month = [], date(context.period_start.year, context.period_start.month, 1)
    while month <= context.period_end:
        end = min(add_months(month, 1) - timedelta(days=1), context.period_end)
        figures.append(f"{end:%Y-%m}: {repayments.quality(end).par30 * 100:.2f} %")
        month = add_months(month, 1)
    return Evidence(_l("PAR30 computed for every month of the period: %(figures)s.",
                       figures="; ".join(figures)), True)


@hookimpl
def register_compliance_evidence():
    """Core's providers, for the starter catalogue's information-system clauses."""
    return [
        EvidenceProvider("5.3", _l("User accounts and roles"), personal_accounts, STARTER),
        EvidenceProvider("5.4", _l("Audit trail activity"), audit_trail_activity, STARTER),
        EvidenceProvider("5.5", _l("Sign-in protection"), sign_in_protection, STARTER),
        EvidenceProvider("1.1", _l("Total cost and APR in every offer"), offers_disclose_cost, STARTER),
        EvidenceProvider("2.6", _l("Credit decisions by two people"), two_person_decisions, STARTER),
        EvidenceProvider("4.1", _l("PAR30 every month"), par30_monthly, STARTER),
    ]
