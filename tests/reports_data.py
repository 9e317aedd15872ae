"""Loans built directly with the ORM for report tests (the loan services come with another issue):
schedule lines from ``core.services.schedules``, ledger entries as ``LedgerEntry`` rows, and the
same loan as the pure lending engine sees it, to compare the SQL figures with."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import count
from datetime import date
from decimal import Decimal

from core.extensions import db
from core.models.lending import LedgerEntry, Loan, ScheduleLine
from core.services import positions
from core.services import schedules
from core.services.allocation import Payment, Reversal
from core.tenancy import acting_for
from tests.clients_data import client_data, make_client, national_number


@dataclass
class BuiltLoan:
    """A loan as stored, and as the engine sees it (latest schedule, ledger entries)."""

    loan: Loan
    schedule: schedules.Schedule
    entries: list = field(default_factory=list)
    written_off_on: date | None = None


def _lines(loan: Loan, schedule: schedules.Schedule, version: int, kind: str = "microloan") -> None:
    for inst in schedule.instalments:
        db.session.add(ScheduleLine(loan_id=loan.id, institution_id=loan.institution_id, version=version,
                                    kind=kind, number=inst.number, due_date=inst.due_on,
                                    principal=inst.principal, interest=inst.interest, fees=inst.fee))


def make_loan(staff, client, principal: str, disbursed_on: date, *, term: int = 12, rate: str = "0.12",
              honour: str = "0", status: str = "active", fee: str = "0") -> BuiltLoan:
    """A disbursed loan of ``client`` with its schedule (and honour schedule) written as version 0."""
    terms = schedules.loan_terms(principal, rate, term, disbursed_on, fee_per_instalment=Decimal(fee))
    schedule = schedules.build_schedule(terms)
    with acting_for(staff.institution_id):
        loan = Loan(client_id=client.id, status=status, product_code="STD", principal=Decimal(principal),
                    term_months=term, annual_rate=Decimal(rate) * 100, honour_loan=Decimal(honour),
                    disbursed_on=disbursed_on, schedule_version=0)
        db.session.add(loan)
        db.session.flush()
        _lines(loan, schedule, 0)
        if Decimal(honour):
            _lines(loan, schedules.honour_loan_schedule(Decimal(honour), disbursed_on, term), 0, "honour")
        positions.refresh(loan)  # as every ledger operation does
        db.session.commit()
    return BuiltLoan(loan, schedule)


def _entry(staff, built: BuiltLoan, kind: str, on: date, amount: Decimal, reverses: int | None = None) -> LedgerEntry:
    with acting_for(staff.institution_id):
        row = LedgerEntry(loan_id=built.loan.id, kind=kind, amount=amount, value_date=on, reverses_id=reverses)
        db.session.add(row)
        positions.refresh(db.session.get(Loan, built.loan.id))
        db.session.commit()
    return row


def pay(staff, built: BuiltLoan, on: date, amount: str) -> int:
    row = _entry(staff, built, "payment", on, Decimal(amount))
    built.entries.append(Payment(row.id, on, Decimal(amount)))
    return row.id


def reverse(staff, built: BuiltLoan, on: date, payment_id: int) -> None:
    target = next(e for e in built.entries if e.id == payment_id)
    row = _entry(staff, built, "reversal", on, target.amount, reverses=payment_id)
    built.entries.append(Reversal(row.id, on, payment_id))


def write_off(staff, built: BuiltLoan, on: date, amount: str) -> None:
    _entry(staff, built, "write_off", on, Decimal(amount))
    with acting_for(staff.institution_id):
        built.loan.status, built.loan.closed_on = "written_off", on
        db.session.commit()
    built.written_off_on = on


def reschedule(staff, built: BuiltLoan, on: date, term: int) -> None:
    """Version 1: the instalments due before ``on`` kept, then a new schedule of the principal they
    leave (``schedules.reschedule``), numbered on; arrears stay on the kept instalments."""
    old = built.schedule
    kept = [i for i in old.instalments if i.due_on < on]
    rest = sum((i.principal for i in old.instalments if i.due_on >= on), Decimal("0.00"))
    new = schedules.reschedule(old, rest, on, term)
    renumbered = [replace(i, number=len(kept) + i.number) for i in new.instalments]
    built.schedule = schedules.Schedule(old.terms, tuple(kept + renumbered))
    with acting_for(staff.institution_id):
        _lines(built.loan, built.schedule, 1)
        built.loan.schedule_version = 1
        db.session.commit()


_serials = count(100)


def person(staff, **overrides):
    """A client who is a person of their own: a national number of their own (a new serial for the
    birth date), so that the sector's count of people sees distinct people. Pass the same
    ``national_number`` to two institutions to make one person financed twice."""
    birth = overrides.get("birth_date", client_data()["birth_date"])
    overrides.setdefault("national_number", national_number(birth, next(_serials)))
    return make_client(staff, **overrides)
