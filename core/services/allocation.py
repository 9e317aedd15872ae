"""Allocating repayments to a schedule; an append-only ledger of payments and reversals.

Rules (see docs/lending.md):

* The ledger only grows. A mistake is corrected by a :class:`Reversal` naming the payment it
  cancels; a reversal of a reversal, a second reversal of a payment, and a reversal of an unknown
  payment are refused.
* The state of a loan is the *replay* of its payments that are not reversed, by value date (ties
  in ledger order). A reversal therefore gives exactly the state the loan would have had without
  the payment; later payments are re-allocated accordingly.
* Each payment first pays what is due on or before its date, oldest instalment first, and within
  an instalment fees, then interest, then principal.
* What is left then pays the next instalments ahead, in the same order (a standing order paid a
  few days early counts for the coming instalment). A payment marked ``prepay_principal`` (an
  early repayment the borrower asked for) instead reduces the principal of the **last**
  instalments first: the term is **shortened**, the instalment amounts stay; the interest and
  fees of an instalment whose principal is entirely prepaid are waived. (A precise recomputation
  of the remaining interest is a reschedule: ``schedules.reschedule``.)
* Whatever is left once the whole schedule is paid is a **credit** owed back to the borrower:
  never lost, never applied silently.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Hashable, Iterable, Sequence

from flask_babel import lazy_gettext as _l

from core.models.types import to_money
from core.services.errors import ValidationFailed
from core.services.schedules import ZERO, Schedule


class Component(StrEnum):
    """Parts of an instalment, in allocation order."""

    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


ORDER = (Component.FEE, Component.INTEREST, Component.PRINCIPAL)


@dataclass(frozen=True)
class Payment:
    """Money received for a loan on ``paid_on`` (its value date)."""

    id: Hashable
    paid_on: date
    amount: Decimal
    prepay_principal: bool = False


@dataclass(frozen=True)
class Reversal:
    """Cancels the payment ``reverses``; entered on ``entered_on``."""

    id: Hashable
    entered_on: date
    reverses: Hashable


Entry = Payment | Reversal


@dataclass(frozen=True)
class Allocation:
    """Part of a payment applied to one component of one instalment."""

    payment_id: Hashable
    instalment: int
    component: Component
    amount: Decimal


@dataclass(frozen=True)
class InstalmentPosition:
    """An instalment with what was paid and waived of each component."""

    number: int
    due_on: date
    due: dict[Component, Decimal]
    paid: dict[Component, Decimal]
    waived: dict[Component, Decimal]

    def outstanding(self, component: Component | None = None) -> Decimal:
        """What is still owed, of one component or in all."""
        parts = [component] if component else ORDER
        return sum((self.due[c] - self.paid[c] - self.waived[c] for c in parts), ZERO)


@dataclass(frozen=True)
class LedgerState:
    """A loan's position after replaying its ledger."""

    positions: tuple[InstalmentPosition, ...]
    allocations: tuple[Allocation, ...]
    credit: Decimal

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)

    @property
    def outstanding_principal(self) -> Decimal:
        return sum((p.outstanding(Component.PRINCIPAL) for p in self.positions), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((p.outstanding() for p in self.positions), ZERO)

    @property
    def repaid(self) -> bool:
        """True once nothing is owed on any instalment."""
        return self.outstanding == 0


def payment(id: Hashable, paid_on: date, amount, prepay_principal: bool = False) -> Payment:
    """A :class:`Payment` with its amount checked (a positive number of cents; floats refused)."""
    try:
        value = to_money(amount)
        if not value.is_finite():
            raise ValueError(amount)
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationFailed({"amount": _l("Enter an amount in euros, such as 125.50.")}) from None
    if value <= 0:
        raise ValidationFailed({"amount": _l("Enter an amount greater than zero.")})
    return Payment(id, paid_on, value, prepay_principal)


def check_entry(schedule: Schedule, ledger: Sequence[Entry], entry: Entry) -> None:
    """Raise ``ValidationFailed`` when ``entry`` may not be appended to ``ledger``."""
    by_id = {e.id: e for e in ledger}
    reversed_ids = {e.reverses for e in ledger if isinstance(e, Reversal)}
    _check(schedule, by_id, reversed_ids, entry)


def _check(schedule: Schedule, by_id: dict, reversed_ids: set, entry: Entry) -> None:
    if entry.id in by_id:
        raise ValueError(f"ledger entry {entry.id!r} already exists")
    if isinstance(entry, Payment):
        if not isinstance(entry.amount, Decimal):
            raise TypeError("a payment's amount must be a Decimal (build it with payment())")
        if entry.amount <= 0:
            raise ValidationFailed({"amount": _l("Enter an amount greater than zero.")})
        if entry.paid_on < schedule.terms.disbursed_on:
            raise ValidationFailed({"paid_on": _l("A payment cannot be dated before the disbursement.")})
        return
    target = by_id.get(entry.reverses)
    if isinstance(target, Reversal):
        raise ValidationFailed({"": _l("A reversal cannot be reversed: record the payment again.")})
    if target is None:
        raise ValidationFailed({"": _l("There is no such payment to reverse.")})
    if entry.reverses in reversed_ids:
        raise ValidationFailed({"": _l("This payment has already been reversed.")})
    if entry.entered_on < target.paid_on:
        raise ValidationFailed({"entered_on": _l("A reversal cannot be dated before its payment.")})


def append(schedule: Schedule, ledger: Sequence[Entry], entry: Entry) -> tuple[Entry, ...]:
    """The ledger with ``entry`` added at its end, once checked by :func:`check_entry`."""
    check_entry(schedule, ledger, entry)
    return (*ledger, entry)


def ledger_state(schedule: Schedule, ledger: Sequence[Entry], as_of: date | None = None) -> LedgerState:
    """Replay ``ledger`` (entries dated on or before ``as_of``, all if None) onto ``schedule``."""
    by_id: dict = {}
    reversed_ids: set = set()
    for entry in ledger:
        _check(schedule, by_id, reversed_ids, entry)
        by_id[entry.id] = entry
        if isinstance(entry, Reversal):
            reversed_ids.add(entry.reverses)
    visible = [e for e in ledger if as_of is None or _date(e) <= as_of]
    reversed_ids = {e.reverses for e in visible if isinstance(e, Reversal)}
    payments = sorted((e for e in visible if isinstance(e, Payment) and e.id not in reversed_ids),
                      key=lambda p: p.paid_on)  # stable: ties keep ledger order
    book = _Book(schedule)
    for item in payments:
        book.allocate(item)
    return book.state()


class _Book:
    """Mutable working copy of the positions while replaying."""

    def __init__(self, schedule: Schedule):
        self.instalments = schedule.instalments
        self.paid = [dict.fromkeys(ORDER, ZERO) for _ in self.instalments]
        self.waived = [dict.fromkeys(ORDER, ZERO) for _ in self.instalments]
        self.due_dates = [inst.due_on for inst in self.instalments]
        self.allocations: list[Allocation] = []
        self.credit = ZERO
        self.first_open = 0  # every instalment before it is settled

    def left(self, index: int, component: Component) -> Decimal:
        due = getattr(self.instalments[index], component.value)
        return due - self.paid[index][component] - self.waived[index][component]

    def take(self, item: Payment, index: int, component: Component, remaining: Decimal) -> Decimal:
        amount = min(remaining, self.left(index, component))
        if amount > 0:
            self.paid[index][component] += amount
            self.allocations.append(Allocation(item.id, self.instalments[index].number, component, amount))
        return remaining - amount

    def allocate(self, item: Payment) -> None:
        remaining = item.amount
        cut = bisect_right(self.due_dates, item.paid_on)  # instalments due on or before the payment
        remaining = self.sweep(item, range(self.first_open, cut), remaining)
        if item.prepay_principal:
            remaining = self.prepay(item, range(cut, len(self.instalments)), remaining)
        remaining = self.sweep(item, range(max(cut, self.first_open), len(self.instalments)), remaining)
        self.credit += remaining
        while self.first_open < len(self.instalments) and self.settled(self.first_open):
            self.first_open += 1

    def settled(self, index: int) -> bool:
        return all(self.left(index, component) == 0 for component in ORDER)

    def sweep(self, item: Payment, indexes: range, remaining: Decimal) -> Decimal:
        """Instalment after instalment, fees, then interest, then principal."""
        for index in indexes:
            if remaining <= 0:
                break
            for component in ORDER:
                remaining = self.take(item, index, component, remaining)
        return remaining

    def prepay(self, item: Payment, ahead: range, remaining: Decimal) -> Decimal:
        """Principal of future instalments, last first; waive the rest of those fully prepaid."""
        for index in reversed(ahead):
            if remaining <= 0:
                break
            remaining = self.take(item, index, Component.PRINCIPAL, remaining)
            if self.left(index, Component.PRINCIPAL) == 0:
                for component in (Component.FEE, Component.INTEREST):
                    self.waived[index][component] += self.left(index, component)
        return remaining

    def state(self) -> LedgerState:
        positions = tuple(
            InstalmentPosition(inst.number, inst.due_on,
                               {c: getattr(inst, c.value) for c in ORDER}, self.paid[i], self.waived[i])
            for i, inst in enumerate(self.instalments))
        return LedgerState(positions, tuple(self.allocations), self.credit)


def _date(entry: Entry) -> date:
    return entry.paid_on if isinstance(entry, Payment) else entry.entered_on


def total_paid(ledger: Iterable[Entry], as_of: date | None = None) -> Decimal:
    """Sum of the payments not reversed (on or before ``as_of``)."""
    visible = [e for e in ledger if as_of is None or _date(e) <= as_of]
    reversed_ids = {e.reverses for e in visible if isinstance(e, Reversal)}
    return sum((e.amount for e in visible if isinstance(e, Payment) and e.id not in reversed_ids), ZERO)
