"""The to-do home: for each role, what waits for the signed-in user, counted, with a short list.

Each panel is one bounded SQL statement: the rows it lists (at most ``LIMIT``, the most urgent
first) carry the total count as a window function (``count(*) OVER ()``), so a panel costs one
statement whatever the number of rows. Institution panels are scoped like every query
(``core.tenancy``); "my" panels are further limited to what the user follows: loans they drafted
or whose client they coach, actions and sessions of clients they coach. Federation panels cross
tenants explicitly (``all_institutions``) and read compliance records or operating data only,
never client files.

Nothing here changes data; the view renders the panels (``core/templates/home/_todo.html``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, or_, select

from core.extensions import db
from core.models import (ROLE_ADMIN, ROLE_AUDITOR, ROLE_COACH, ROLE_OFFICER, ROLE_OPERATOR, AgreedAction,
                         Assessment, Client, CoachingSession, ImportRun, Institution, Loan, LoanPosition, User)
from core.models.compliance import APPROVED, CHANGES_REQUESTED, DRAFT, SUBMITTED, UNDER_REVIEW
from core.models.mail import MAIL_FAILED, OutboxMail
from core.models.money_input import StatementLine
from core.models.referrals import Referral, ReferralOffer
from core.models.types import utcnow
from core.tenancy import FEDERATION, all_institutions

#: How many items a panel lists; its count is the full number.
LIMIT = 5
#: A statement line in this state waits for someone to assign it to a loan (or dismiss it).
WAITING_LINE_STATE = "queued"
#: An import run still checking or writing after this long has stopped (its worker died).
STUCK_IMPORT_AFTER = timedelta(hours=1)
#: Failed mails of this many days are shown to the operator (older ones stay on /operator/mail).
MAIL_FAILURE_DAYS = 7
#: A chore's last run may be this much older than its period (the worker polls every few seconds).
CHORE_GRACE = timedelta(minutes=15)
PERIOD_LENGTH = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7),
                 "monthly": timedelta(days=31)}

LENDERS = (ROLE_ADMIN, ROLE_OFFICER)
STAFF = (ROLE_ADMIN, ROLE_OFFICER, ROLE_COACH)


@dataclass
class Panel:
    """One card of the home page: its ``key`` (which the template renders), the full ``count``,
    up to ``LIMIT`` ``items`` (result rows, most urgent first) and extra figures by name."""

    key: str
    count: int
    items: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)


def _panel(key: str, query, **figures) -> Panel:
    """Run ``query`` (which selects a ``total`` window count, and ``figures`` by label) once."""
    rows = db.session.execute(query.limit(LIMIT)).all()
    first = rows[0] if rows else None
    return Panel(key, first.total if first else 0, rows,
                 {name: int(getattr(first, name) or 0) if first else 0 for name in figures})


def _total():
    return func.count().over().label("total")


def _sum_over(condition, label: str):
    return func.sum(case((condition, 1), else_=0)).over().label(label)


def week_end(today: date) -> date:
    """The Sunday of ``today``'s week."""
    return today + timedelta(days=6 - today.weekday())


# --- an institution's staff -------------------------------------------------------------------

def referrals(today: date) -> Panel:
    """Offers to take (open) or to contact (taken, no first contact yet), the earliest contact
    deadline first (so the overdue ones lead); figures: ``to_take``, ``to_contact``, ``overdue``."""
    query = (select(ReferralOffer.id, ReferralOffer.state, ReferralOffer.deadline, Referral.erased_at,
                    Referral.applicant_first_name, Referral.applicant_last_name, Referral.amount_requested,
                    _total(), _sum_over(ReferralOffer.state == "open", "to_take"),
                    _sum_over(ReferralOffer.state == "accepted", "to_contact"),
                    _sum_over(ReferralOffer.deadline < today, "overdue"))
             .join(Referral, Referral.id == ReferralOffer.referral_id)
             .where(or_(ReferralOffer.state == "open",
                        (ReferralOffer.state == "accepted") & Referral.first_contact_at.is_(None)))
             .order_by(ReferralOffer.deadline, ReferralOffer.id))
    return _panel("referrals", query, to_take=True, to_contact=True, overdue=True)


def applications(user: User) -> Panel:
    """Submitted applications the user may decide (not those they drafted: maker-checker),
    the longest waiting first."""
    query = (select(Loan.id, Loan.principal, Loan.submitted_at, Client.first_name, Client.last_name, _total())
             .join(Client, Client.id == Loan.client_id)
             .where(Loan.status == "submitted",
                    or_(Loan.drafted_by_id.is_(None), Loan.drafted_by_id != user.id))
             .order_by(Loan.submitted_at, Loan.id))
    return _panel("applications", query)


def late_loans(user: User, today: date) -> Panel:
    """Active loans the user drafted or whose client they coach, with an instalment due before
    ``today`` still unpaid (the stored position, no ledger replay), the longest late first."""
    query = (select(Loan.id, LoanPosition.first_unpaid_due_on, Client.first_name, Client.last_name, _total())
             .join(LoanPosition, LoanPosition.loan_id == Loan.id)
             .join(Client, Client.id == Loan.client_id)
             .where(Loan.status == "active", LoanPosition.first_unpaid_due_on < today,
                    or_(Loan.drafted_by_id == user.id, Client.coach_id == user.id))
             .order_by(LoanPosition.first_unpaid_due_on, Loan.id))
    return _panel("late_loans", query)


def coaching_actions(user: User, today: date) -> Panel:
    """Agreed actions not done, due by the end of this week, of the clients the user coaches
    (the session's coach when the client has none), the oldest due date first; figure ``overdue``."""
    query = (select(AgreedAction.id, AgreedAction.description, AgreedAction.due_on, Client.id.label("client_id"),
                    Client.first_name, Client.last_name, _total(), _sum_over(AgreedAction.due_on < today, "overdue"))
             .join(CoachingSession, CoachingSession.id == AgreedAction.session_id)
             .join(Client, Client.id == CoachingSession.client_id)
             .where(AgreedAction.done.is_(False), AgreedAction.due_on <= week_end(today),
                    func.coalesce(Client.coach_id, CoachingSession.coach_id) == user.id)
             .order_by(AgreedAction.due_on, AgreedAction.id))
    return _panel("coaching_actions", query, overdue=True)


def coaching_sessions(user: User, today: date) -> Panel:
    """The user's coaching sessions from today to the end of this week, soonest first."""
    query = (select(CoachingSession.id, CoachingSession.held_on, CoachingSession.topics,
                    Client.id.label("client_id"), Client.first_name, Client.last_name, _total())
             .join(Client, Client.id == CoachingSession.client_id)
             .where(CoachingSession.coach_id == user.id, CoachingSession.held_on >= today,
                    CoachingSession.held_on <= week_end(today))
             .order_by(CoachingSession.held_on, CoachingSession.id))
    return _panel("coaching_sessions", query)


def statement_lines() -> Panel:
    """Bank statement lines waiting to be assigned to a loan, the oldest booking first."""
    query = (select(StatementLine.id, StatementLine.booked_on, StatementLine.amount, StatementLine.reference,
                    StatementLine.counterparty, _total())
             .where(StatementLine.state == WAITING_LINE_STATE)
             .order_by(StatementLine.booked_on, StatementLine.id))
    return _panel("statement_lines", query)


def compliance(today: date) -> Panel:
    """The institution's self-assessments to work on (returned by the federation first, then
    drafts) and, as figure ``next_due``, the next due date of its award (``Due`` or None);
    a due date within the reminder window counts as work too."""
    from core.services.compliance import assessments

    query = (select(Assessment.id, Assessment.status, Assessment.period_start, Assessment.period_end, _total())
             .where(Assessment.status.in_((DRAFT, CHANGES_REQUESTED)))
             .order_by(case((Assessment.status == CHANGES_REQUESTED, 0), else_=1), Assessment.period_end,
                       Assessment.id))
    panel = _panel("compliance", query)
    awarded = db.session.execute(
        select(Assessment.id, Assessment.status, Assessment.progress_report_due, Assessment.valid_until)
        .where(Assessment.status == APPROVED)
        .order_by(Assessment.period_end.desc(), Assessment.id.desc()).limit(1)).first()
    dues = sorted(assessments.due_dates(awarded, today), key=lambda due: due.on) if awarded else []
    panel.figures["next_due"] = dues[0] if dues else None  # the earliest: a passed one stays first
    panel.figures["awarded_id"] = awarded.id if awarded else None
    panel.count += len(assessments.reminders(awarded, today)) if awarded else 0
    return panel


# --- the federation ----------------------------------------------------------------------------

def assessments_to_review() -> Panel:
    """Every institution's self-assessments submitted or under review, the longest waiting first
    (compliance records only)."""
    query = (select(Assessment.id, Assessment.status, Assessment.period_start, Assessment.period_end,
                    Assessment.submitted_at, Institution.names, Institution.slug, _total())
             .join(Institution, Institution.id == Assessment.institution_id)
             .where(Assessment.status.in_((SUBMITTED, UNDER_REVIEW)))
             .order_by(Assessment.submitted_at, Assessment.id))
    with all_institutions("a federation auditor's home counts the self-assessments to review", scope=FEDERATION):
        return _panel("assessments_to_review", query)


def mail_failures(now: datetime) -> Panel:
    """Mails that failed for good in the last ``MAIL_FAILURE_DAYS`` days, the newest first."""
    query = (select(OutboxMail.id, OutboxMail.kind, OutboxMail.to_address, OutboxMail.failed_at,
                    OutboxMail.last_error, _total())
             .where(OutboxMail.status == MAIL_FAILED,
                    OutboxMail.failed_at >= now - timedelta(days=MAIL_FAILURE_DAYS))
             .order_by(OutboxMail.failed_at.desc(), OutboxMail.id.desc()))
    panel = _panel("mail_failures", query)
    panel.figures["days"] = MAIL_FAILURE_DAYS
    return panel


def stuck_imports(now: datetime) -> Panel:
    """Portfolio import runs queued, checking or writing for more than ``STUCK_IMPORT_AFTER``,
    the oldest first (file name and institution only)."""
    query = (select(ImportRun.id, ImportRun.status, ImportRun.filename, ImportRun.created_at,
                    Institution.names, Institution.slug, _total())
             .join(Institution, Institution.id == ImportRun.institution_id)
             .where(ImportRun.status.in_(("queued", "checking", "writing")),
                    ImportRun.created_at < now - STUCK_IMPORT_AFTER)
             .order_by(ImportRun.created_at, ImportRun.id))
    with all_institutions("the operator's home counts stuck portfolio imports"):
        return _panel("stuck_imports", query)


@dataclass(frozen=True)
class ChoreHealth:
    """A scheduled chore that needs a look: ``problem`` is ``never``, ``failed`` or ``stale``."""

    name: str
    period: str
    problem: str
    last_started_at: datetime | None


def worker_health(now: datetime) -> Panel:
    """Scheduled chores that never ran, whose last run failed, or whose last run is older than
    their period (plus ``CHORE_GRACE``): the worker is not doing its rounds."""
    from core.services import chores

    last = chores.last_runs()
    found = []
    for chore in chores.CHORES:
        run = last.get(chore.name)
        if run is None:
            found.append(ChoreHealth(chore.name, chore.period, "never", None))
        elif run.ok is False:
            found.append(ChoreHealth(chore.name, chore.period, "failed", run.started_at))
        elif now - run.started_at > PERIOD_LENGTH[chore.period] + CHORE_GRACE:
            found.append(ChoreHealth(chore.name, chore.period, "stale", run.started_at))
    return Panel("worker_health", len(found), found[:LIMIT], {"chores": len(chores.CHORES)})


# --- by role -------------------------------------------------------------------------------------

def for_user(user: User, today: date | None = None, now: datetime | None = None) -> list[Panel]:
    """The panels of ``user``'s home, in the order shown (``today`` in Brussels by default)."""
    from core.services.chores import today as brussels_today

    today = today or brussels_today()
    now = now or utcnow()
    if user.role == ROLE_AUDITOR:
        return [assessments_to_review()]
    if user.role == ROLE_OPERATOR:
        return [mail_failures(now), stuck_imports(now), worker_health(now)]
    if user.role not in STAFF:
        return []
    panels = [referrals(today)]
    if user.role in LENDERS:
        panels.append(applications(user))
    panels += [late_loans(user, today), coaching_actions(user, today), coaching_sessions(user, today)]
    if user.role in LENDERS:
        panels.append(statement_lines())
    if user.role == ROLE_ADMIN:
        panels.append(compliance(today))
    return panels
