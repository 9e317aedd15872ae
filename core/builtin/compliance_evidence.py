"""Core's automatic compliance evidence, from data that exists today: accounts and roles, the
audit trail, the sign-in protections. Lending-based evidence (total cost in offers, PAR30
reported) comes with the lending module.
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


@hookimpl
def register_compliance_evidence():
    """Core's providers, for the starter catalogue's information-system clauses."""
    return [
        EvidenceProvider("5.3", _l("User accounts and roles"), personal_accounts, STARTER),
        EvidenceProvider("5.4", _l("Audit trail activity"), audit_trail_activity, STARTER),
        EvidenceProvider("5.5", _l("Sign-in protection"), sign_in_protection, STARTER),
    ]
