"""Money after disbursement: payments, reversals, arrears, PAR, rescheduling, write-off, statements.

The ledger (``LedgerEntry``) only grows. A loan's position is the replay of its ledger onto its
current schedule (``allocation.ledger_state``): the microloan and honour-loan lines of the current
schedule version, merged by due date (one structured reference pays both). Each public function
is one transaction; events are emitted after the commit.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from core import clock
from core import formatting
from core.extensions import db
from core.models import LateNotice, LedgerEntry, Loan, ScheduleLine
from core.plugin_api import Event
from core.plugins import emit
from core.services import allocation, arrears, positions, timeline
from core.services.errors import ValidationFailed
from core.services.loans import Conflict, _commit_or_conflict, get_loan
from core.services.schedules import ZERO, Grace, Method, Schedule, reschedule


# --- the schedule and the ledger of a loan ------------------------------------------------

schedule_of = positions.schedule_of
_engine_entries = positions.engine_entries


@dataclass(frozen=True)
class Position:
    """A loan on a date: its schedule, what was paid, what is late."""

    loan: Loan
    on: date
    schedule: Schedule
    state: allocation.LedgerState
    arrears: arrears.LoanArrears


def position(loan: Loan, on: date | None = None, lines=None, ledger=None) -> Position:
    """Where the loan stands on ``on`` (today by default), replayed from its ledger by the engine;
    only entries dated up to then count. Pages read :func:`positions.loan_position` instead."""
    on = on or clock.today()
    schedule = schedule_of(loan, lines)
    state = allocation.ledger_state(schedule, _engine_entries(loan, ledger), as_of=on)
    return Position(loan, on, schedule, state, arrears.arrears_from_state(loan.id, state, on, loan.late_since))


def lock(loan_id: int) -> Loan:
    """The loan, locked for this transaction before its ledger is read: a no-op UPDATE takes the
    row lock on PostgreSQL and the write lock on SQLite, so two officers booking on one loan at
    the same moment are serialised and the second one's position counts the first one's entry."""
    db.session.execute(update(Loan).where(Loan.id == loan_id).values(status=Loan.status)
                       .execution_options(synchronize_session=False))
    loan = get_loan(loan_id)
    db.session.expire(loan)  # its ledger and schedule are read again, under the lock
    return loan


def _active(loan_id: int, *, refuse_closed: bool = True) -> Loan:
    loan = lock(loan_id)
    if loan.status == "written_off" and refuse_closed:
        raise ValidationFailed({"": _l("This loan was written off: record a recovery instead.")})
    if loan.status not in ("active", "repaid", "written_off"):
        raise ValidationFailed({"": _l("This loan has not been paid out.")})
    return loan


# --- payments and reversals ---------------------------------------------------------------

def parse_amount(text) -> Decimal:
    """An amount typed in euros (``125.50`` or ``125,50``); ``ValidationFailed`` on ``amount``."""
    cleaned = str(text if text is not None else "").strip().replace(" ", "").replace(",", ".")
    return allocation.payment("check", date.min, cleaned).amount if cleaned else _no_amount()


def _no_amount():
    raise ValidationFailed({"amount": _l("Enter an amount in euros, such as 125.50.")})


def record_payment(loan_id: int, *, paid_on: date | None, amount, user, reference: str | None = None,
                   source: str = "manual", note: str | None = None) -> LedgerEntry:
    """Book a payment; the loan is repaid (and ``loan.repaid`` emitted) once nothing is owed."""
    loan, entry, repaid = book_payment(loan_id, paid_on=paid_on, amount=amount, user=user,
                                       reference=reference, source=source, note=note)
    _commit_or_conflict()
    if repaid:
        emit_repaid(loan)
    return entry


def book_payment(loan_id: int, *, paid_on: date | None, amount, user, reference: str | None = None,
                 source: str = "manual", note: str | None = None) -> tuple[Loan, LedgerEntry, bool]:
    """Book a payment in the caller's transaction (no commit): the loan locked, the entry added,
    the loan settled when nothing is owed, its position refreshed. Returns (loan, entry, whether it
    has just been repaid: the caller emits ``loan.repaid`` with :func:`emit_repaid` after commit)."""
    loan = _active(loan_id)
    entry = _payment_entry(loan, paid_on, amount, user, reference, source, note)
    repaid = _settle(loan, paid_on)
    positions.refresh(loan)
    return loan, entry, repaid


def _payment_entry(loan: Loan, paid_on, amount, user, reference, source, note) -> LedgerEntry:
    if paid_on is None:
        raise ValidationFailed({"paid_on": _l("Enter the date of the payment.")})
    value = parse_amount(amount)
    if paid_on < loan.disbursed_on:
        raise ValidationFailed({"paid_on": _l("A payment cannot be dated before the disbursement.")})
    if paid_on > clock.today():
        raise ValidationFailed({"paid_on": _l("A payment cannot be dated in the future.")})
    if loan.rescheduled_on and paid_on < loan.rescheduled_on:
        raise ValidationFailed({"paid_on": _l("A payment cannot be dated before the rescheduling.")})
    entry = LedgerEntry(loan_id=loan.id, kind="payment", amount=value, value_date=paid_on,
                        reference=reference, source=source, note=note,
                        created_by_id=getattr(user, "id", None), institution_id=loan.institution_id)
    db.session.add(entry)
    db.session.flush()
    db.session.expire(loan, ["ledger"])
    return entry


def _settle(loan: Loan, on: date) -> bool:
    """Mark the loan repaid (or active again after a reversal); True when it has just been repaid."""
    state = position(loan, date.max).state
    if state.repaid and loan.status == "active":
        loan.status, loan.closed_on = "repaid", on
        return True
    if not state.repaid and loan.status == "repaid":
        loan.status, loan.closed_on = "active", None
    return False


def emit_repaid(loan: Loan) -> None:
    """Tell plugins and listeners the loan is repaid (after the commit that repaid it)."""
    emit(Event("loan.repaid", loan.institution_id, {"loan_id": loan.id, "client_id": loan.client_id}))


def reverse(loan_id: int, entry_id: int, *, on: date, user, note: str | None = None) -> LedgerEntry:
    """Cancel a payment by a reversal entry (a reversal is never reversed; history is not edited)."""
    loan = _active(loan_id)
    target = next((e for e in loan.ledger if e.id == entry_id), None)
    if target is None:
        raise ValidationFailed({"": _l("There is no such payment to reverse.")})
    if target.kind == "reversal":
        raise ValidationFailed({"": _l("A reversal cannot be reversed: record the payment again.")})
    if target.kind != "payment":
        raise ValidationFailed({"": _l("Only a payment can be reversed.")})
    if loan.rescheduled_on and target.value_date < loan.rescheduled_on:
        raise ValidationFailed({"": _l("A payment made before the rescheduling cannot be reversed.")})
    if target.source in ("prepayment", "payoff"):
        raise ValidationFailed({"": _l("An early repayment made a new schedule: it cannot be reversed.")})
    on = on or clock.today()
    allocation.check_entry(schedule_of(loan), _engine_entries(loan), allocation.Reversal("new", on, target.id))
    entry = LedgerEntry(loan_id=loan.id, kind="reversal", amount=target.amount, value_date=on,
                        reverses_id=target.id, note=note, created_by_id=user.id,
                        institution_id=loan.institution_id)
    db.session.add(entry)
    db.session.flush()
    db.session.expire(loan, ["ledger"])
    _settle(loan, on)
    positions.refresh(loan)
    _commit_or_conflict()
    return entry


# --- write-off, recovery, rescheduling ----------------------------------------------------

def write_off(loan_id: int, *, on: date, user, version=None, note: str | None = None) -> Loan:
    """Write off what is owed on ``on``: the outstanding principal and the interest and fees
    already due (shown apart); interest of instalments not yet due is never written off. The loan
    leaves the portfolio; ``loan.written_off`` carries the principal (ratios and compliance
    evidence are on principal) and the interest apart."""
    loan = _active(loan_id)
    if version is not None and int(version) != loan.version:
        raise Conflict()
    if loan.status != "active":
        raise ValidationFailed({"": _l("Only an active loan can be written off.")})
    if on is None:
        raise ValidationFailed({"written_off_on": _l("Enter the date of the write-off.")})
    if on < loan.disbursed_on:
        raise ValidationFailed({"written_off_on": _l("A write-off cannot be dated before the disbursement.")})
    if on > clock.today():
        raise ValidationFailed({"written_off_on": _l("A write-off cannot be dated in the future.")})
    last = max((e.value_date for e in loan.ledger), default=None)
    if last is not None and on < last:
        raise ValidationFailed({"written_off_on": _l("A write-off cannot be dated before the last payment.")})
    principal, interest = write_off_amounts(loan, on)
    db.session.add(LedgerEntry(loan_id=loan.id, kind="write_off", amount=principal + interest, value_date=on,
                               note=note, created_by_id=user.id, institution_id=loan.institution_id))
    loan.status, loan.closed_on = "written_off", on
    positions.refresh(loan)
    _commit_or_conflict()
    emit(Event("loan.written_off", loan.institution_id, {"loan_id": loan.id, "client_id": loan.client_id,
                                                        "amount": str(principal), "principal": str(principal),
                                                        "interest": str(interest)}))
    return loan


def write_off_amounts(loan: Loan, on: date) -> tuple[Decimal, Decimal]:
    """(outstanding principal, interest and fees due by ``on`` and unpaid) of a write-off on ``on``."""
    state = allocation.ledger_state(schedule_of(loan), _engine_entries(loan))
    return positions.write_off_split(state, on)


def record_recovery(loan_id: int, *, on: date, amount, user, note: str | None = None) -> LedgerEntry:
    """Money received after a write-off."""
    loan = _active(loan_id, refuse_closed=False)
    if loan.status != "written_off":
        raise ValidationFailed({"": _l("A recovery is only recorded on a written-off loan.")})
    value = parse_amount(amount)
    if on is None or on < loan.closed_on:
        raise ValidationFailed({"paid_on": _l("A recovery cannot be dated before the write-off.")})
    entry = LedgerEntry(loan_id=loan.id, kind="recovery", amount=value, value_date=on, note=note,
                        created_by_id=user.id, institution_id=loan.institution_id)
    db.session.add(entry)
    positions.refresh(loan)
    _commit_or_conflict()
    return entry


def recovered(loan: Loan) -> Decimal:
    return sum((e.amount for e in loan.ledger if e.kind == "recovery"), ZERO)


def reschedule_loan(loan_id: int, *, on: date, term_months: int, user, version=None) -> Loan:
    """A new schedule version from what is owed on ``on`` (principal plus arrears of interest and
    fees folded in), on the loan's rate and method; the old version stays in history. A loan late
    when rescheduled keeps the date it was late from, so it stays in PAR while still late."""
    loan = _active(loan_id)
    if version is not None and int(version) != loan.version:
        raise Conflict()
    if loan.status != "active":
        raise ValidationFailed({"": _l("Only an active loan can be rescheduled.")})
    if loan.honour_loan and loan.honour_loan > 0:
        raise ValidationFailed({"": _l("A loan with an honour loan cannot be rescheduled here yet.")})
    if on is None or on < (loan.rescheduled_on or loan.disbursed_on):
        raise ValidationFailed({"rescheduled_on": _l("Enter a date after the disbursement.")})
    if not term_months or term_months < 1:
        raise ValidationFailed({"term_months": _l("Enter a number of months.")})
    now = position(loan, on)
    late = [p for p in now.state.positions if p.due_on < on and p.outstanding() > 0]
    folded = sum((p.outstanding() - p.outstanding(allocation.Component.PRINCIPAL) for p in late), ZERO)
    new = reschedule(now.schedule, now.state.outstanding_principal + folded, on, term_months,
                     annual_rate=Decimal(loan.annual_rate) / 100, method=Method(loan.repayment_method),
                     grace=Grace.NONE)
    if now.arrears.days_past_due > 0:
        loan.late_since = min(filter(None, [loan.late_since, on - timedelta(days=now.arrears.days_past_due)]))
    version_number = loan.schedule_version + 1
    db.session.add_all(ScheduleLine(loan_id=loan.id, version=version_number, kind="microloan", number=i.number,
                                    due_date=i.due_on, principal=i.principal, interest=i.interest, fees=i.fee,
                                    institution_id=loan.institution_id) for i in new.instalments)
    loan.schedule_version, loan.rescheduled_on, loan.term_months = version_number, on, term_months
    positions.refresh(loan)
    _commit_or_conflict()
    db.session.refresh(loan)
    return loan


# --- portfolio quality and follow-up ------------------------------------------------------

def _portfolio_loans(on: date) -> list[Loan]:
    """Loans in the portfolio on ``on``: disbursed by then, not written off by then."""
    query = select(Loan).where(Loan.status.in_(("active", "repaid", "written_off")), Loan.disbursed_on <= on)
    return [l for l in db.session.scalars(query)
            if not (l.status == "written_off" and l.closed_on <= on)
            and not (l.status == "repaid" and l.closed_on and l.closed_on <= on)]


def positions_on(on: date) -> list[Position]:
    """Every portfolio loan's position on ``on`` (lines and ledgers read in two queries)."""
    loans = _portfolio_loans(on)
    ids = [l.id for l in loans]
    lines, ledger = defaultdict(list), defaultdict(list)
    if ids:
        for line in db.session.scalars(select(ScheduleLine).where(ScheduleLine.loan_id.in_(ids))):
            lines[line.loan_id].append(line)
        for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.loan_id.in_(ids))
                                        .order_by(LedgerEntry.id)):
            ledger[entry.loan_id].append(entry)
    return [position(l, on, lines[l.id], ledger[l.id]) for l in loans]


def quality(on: date) -> arrears.PortfolioQuality:
    """PAR30 and PAR90 of the current institution on ``on`` (stored positions, one SQL statement)."""
    return positions.quality(on)


def late(on: date) -> list[positions.LatePosition]:
    """Loans with a late instalment on ``on``, longest late first (the follow-up list)."""
    return positions.late(on)


def late_page(on: date, offset: int, limit: int, sort=None) -> tuple[list[positions.LatePosition], int]:
    """One page of the follow-up list (in the order of ``sort``) and how many loans are late in all."""
    return positions.late_page(on, offset, limit, sort)


def check_arrears(on: date) -> int:
    """Emit ``loan.instalment_late`` once per loan and late instalment (current institution).

    Returns how many were emitted. Instalments already told about are remembered in
    ``loan_late_notices``; late instalments are read from stored positions.
    """
    told = {(n.loan_id, n.schedule_version, n.instalment) for n in db.session.scalars(select(LateNotice))}
    events, numbers = [], {}
    for loan_id, client_id, version, due_on in positions.late_lines(on):
        if (loan_id, version) not in numbers:
            numbers[(loan_id, version)] = sorted({l.due_date for l in db.session.scalars(
                select(ScheduleLine).where(ScheduleLine.loan_id == loan_id, ScheduleLine.version == version))})
        number = numbers[(loan_id, version)].index(due_on) + 1
        key = (loan_id, version, number)
        if key in told:
            continue
        told.add(key)
        loan = db.session.get(Loan, loan_id)
        db.session.add(LateNotice(loan_id=loan_id, schedule_version=version, instalment=number, due_date=due_on,
                                  noticed_on=on, institution_id=loan.institution_id))
        events.append(Event("loan.instalment_late", loan.institution_id, {
            "loan_id": loan_id, "client_id": client_id, "instalment": number,
            "due_on": due_on.isoformat(), "days_past_due": (on - due_on).days}))
    db.session.commit()
    for event in events:
        emit(event)
    return len(events)


# --- the client's timeline ----------------------------------------------------------------

@timeline.source("loans")
def _loan_entries(client) -> list[timeline.TimelineEntry]:
    """Applications, decisions, disbursements, payments, late instalments, closings."""
    from flask import url_for

    entries = []
    for loan in db.session.scalars(select(Loan).where(Loan.client_id == client.id)):
        url = url_for("loans.show", loan_id=loan.id)
        add = lambda at, title, body="": entries.append(  # noqa: E731
            timeline.TimelineEntry(at=at, kind="loan", title=title, body=body, url=url))
        add(loan.created_at, _l("Loan application #%(id)s drafted", id=loan.id), formatting.money(loan.principal))
        if loan.decided_at:
            add(loan.decided_at, _l("Loan #%(id)s approved", id=loan.id) if loan.status != "rejected"
                else _l("Loan #%(id)s rejected", id=loan.id), loan.decision_note or "")
        if loan.disbursed_on:
            add(loan.disbursed_on, _l("Loan #%(id)s paid out", id=loan.id))
        for entry in loan.ledger:
            titles = {"payment": _l("Payment on loan #%(id)s", id=loan.id),
                      "reversal": _l("Payment reversed on loan #%(id)s", id=loan.id),
                      "write_off": _l("Loan #%(id)s written off", id=loan.id),
                      "recovery": _l("Recovery on written-off loan #%(id)s", id=loan.id)}
            add(entry.value_date, titles[entry.kind], f"{entry.amount} EUR")
        for notice in db.session.scalars(select(LateNotice).where(LateNotice.loan_id == loan.id)):
            add(notice.noticed_on, _l("Instalment %(n)s of loan #%(id)s is late", n=notice.instalment, id=loan.id),
                str(notice.due_date))
        if loan.status == "repaid" and loan.closed_on:
            add(loan.closed_on, _l("Loan #%(id)s repaid", id=loan.id))
    return entries
