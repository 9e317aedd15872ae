"""Loan files: application, maker-checker decision, disbursement, the offer with its cost.

Each public function is one transaction; events go out through ``core.plugins.emit`` after the
commit. The arithmetic lives in the pure modules (``schedules``, ``pricing``); this module reads
and writes the database. Repayments, arrears and write-offs are in ``core.services.repayments``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from core import clock
from core import tenancy
from core.extensions import db
from core.models import Client, Loan, ScheduleLine
from core.models.plugin_fields import LoanFieldValue
from core.models.types import to_money, utcnow
from core.plugin_api import PURPOSES, Event, LoanProduct
from core.plugins import emit
from core.services import notifications, plugin_settings, positions
from core.services.errors import NotFound, ValidationFailed
from core.services.payment_reference import reference_for_loan
from core.services.pricing import CostOfBorrowing, apr_percent, cash_flows, cost_of_borrowing
from core.services.schedules import (Grace, Method, Schedule, build_schedule, honour_loan_schedule,
                                     loan_terms)

#: Fields of the application form, in the order of the form.
APPLICATION_FIELDS = ("product_code", "principal", "term_months", "purpose_category", "purpose",
                      "honour_loan", "honour_deferral_months", "grace_months", "bank_cofinancing",
                      "own_contribution")


class Conflict(Exception):
    """Someone else changed the loan since the page was opened (optimistic ``version``)."""


# --- products -----------------------------------------------------------------------------

def products() -> list[LoanProduct]:
    """The current institution's products under its settings."""
    return plugin_settings.products()


def product(code: str | None) -> LoanProduct | None:
    return next((p for p in products() if p.code == code), None)


# --- reading ------------------------------------------------------------------------------

def get_loan(loan_id) -> Loan:
    """The loan of the current institution, or ``NotFound``."""
    loan = tenancy.get(Loan, loan_id)
    if loan is None:
        raise NotFound()
    return loan


def loans_of(client_id: int) -> list[Loan]:
    return list(db.session.scalars(select(Loan).where(Loan.client_id == client_id).order_by(Loan.id.desc())))


#: the approval queue's sortable columns (``?sort=``); ties broken by the loan id
QUEUE_SORTS = ("submitted", "principal", "client")
DEFAULT_QUEUE_SORT = "submitted"


def approval_queue(sort=None) -> list[Loan]:
    """Submitted applications, oldest first unless ``sort`` (a ``Sort`` of ``QUEUE_SORTS``) says otherwise."""
    from core.models import Client
    from core.services.sorting import parse_sort

    sort = sort or parse_sort(None, QUEUE_SORTS, DEFAULT_QUEUE_SORT)
    query = select(Loan).where(Loan.status == "submitted")
    column = {"submitted": Loan.submitted_at, "principal": Loan.principal, "client": Client.sort_key}[sort.key]
    if sort.key == "client":
        query = query.join(Client, Client.id == Loan.client_id)
    if sort.descending:
        return list(db.session.scalars(query.order_by(column.desc(), Loan.id.desc())))
    return list(db.session.scalars(query.order_by(column, Loan.id)))


# --- application --------------------------------------------------------------------------

def _amount(errors: dict, data: dict, name: str, required: bool = False) -> Decimal:
    text = str(data.get(name) or "").strip().replace(" ", "")
    if not text:
        if required:
            errors[name] = _l("Enter an amount in euros, such as 125.50.")
        return Decimal("0.00")
    try:
        value = to_money(Decimal(text.replace(",", ".")))
        if not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[name] = _l("Enter an amount in euros, such as 125.50.")
        return Decimal("0.00")
    if value < 0 or (required and value == 0):
        errors[name] = _l("Enter an amount greater than zero.")
    return value


def _months(errors: dict, data: dict, name: str, required: bool = False) -> int:
    text = str(data.get(name) if data.get(name) is not None else "").strip()
    if not text:
        if required:
            errors[name] = _l("Enter a number of months.")
        return 0
    try:
        value = int(text)
    except ValueError:
        errors[name] = _l("Enter a whole number of months.")
        return 0
    if value < 0:
        errors[name] = _l("Enter a whole number of months.")
    return value


def enterprise_age_months(client: Client, on: date) -> int | None:
    """Whole months the client's enterprise has traded on ``on`` (None: not yet trading)."""
    start = client.enterprise_start_date
    if start is None or start > on:
        return None
    return (on.year - start.year) * 12 + on.month - start.month - (on.day < start.day)


def check_application(client: Client, data: dict, today: date | None = None) -> tuple[dict, dict]:
    """The typed values of an application and its errors, one message per field (nothing written).

    The product's own rules come from ``LoanProduct.check_application``.
    """
    errors: dict = {}
    chosen = product(data.get("product_code"))
    if chosen is None:
        errors["product_code"] = _l("Choose a loan product from the list.")
    values = {
        "product_code": data.get("product_code"),
        "principal": _amount(errors, data, "principal", required=True),
        "term_months": _months(errors, data, "term_months", required=True),
        "honour_loan": _amount(errors, data, "honour_loan"),
        "honour_deferral_months": _months(errors, data, "honour_deferral_months"),
        "grace_months": _months(errors, data, "grace_months"),
        "bank_cofinancing": _amount(errors, data, "bank_cofinancing"),
        "own_contribution": _amount(errors, data, "own_contribution"),
        "purpose": (str(data.get("purpose") or "").strip() or None),
        "purpose_category": data.get("purpose_category") or None,
    }
    if values["purpose_category"] not in PURPOSES:
        errors["purpose_category"] = _l("Choose what the money is for.")
    if not values["purpose"]:
        errors["purpose"] = _l("Describe what the loan will pay for.")
    if chosen is not None and not errors.keys() & {"principal", "term_months"}:
        reasons = chosen.check_application(
            amount=values["principal"], term_months=values["term_months"],
            enterprise_age_months=enterprise_age_months(client, today or clock.today()),
            purpose=values["purpose_category"], honour_loan=values["honour_loan"],
            own_contribution=values["own_contribution"], grace_months=values["grace_months"],
            honour_loan_deferral_months=values["honour_deferral_months"])
        for reason in reasons:
            field = reason.field if reason.field in APPLICATION_FIELDS else _FIELD_ALIASES.get(reason.field, "")
            errors.setdefault(field, reason.message)
    return values, errors


_FIELD_ALIASES = {"amount": "principal", "purpose": "purpose_category",
                  "honour_loan_deferral_months": "honour_deferral_months", "enterprise_age_months": "product_code"}


def draft_application(client_id: int, data: dict, *, user) -> Loan:
    """A draft loan for the client, checked against the product; ``ValidationFailed`` per field."""
    client = tenancy.get(Client, client_id)
    if client is None:
        raise NotFound()
    loan = Loan(client_id=client.id, status="draft", drafted_by_id=user.id, frequency_months=1, schedule_version=0)
    _apply(loan, _checked(client, data))
    db.session.add(loan)
    db.session.commit()
    return loan


def update_draft(loan_id: int, data: dict, *, user, version) -> Loan:
    """Change a draft application, checked as when it was drafted (the product's terms of today
    are taken again); ``ValidationFailed`` per field, ``Conflict`` when it changed meanwhile."""
    loan = get_loan(loan_id)
    _expect(loan, version, "draft")
    _apply(loan, _checked(loan.client, data))
    _commit_or_conflict()
    return loan


def delete_draft(loan_id: int, *, user, version) -> None:
    """Delete a draft application (with its plugin field values); only a draft, never a loan that
    was submitted: a decision's history is kept. The audit trail records the deletion."""
    loan = get_loan(loan_id)
    _expect(loan, version, "draft")
    for value in db.session.scalars(select(LoanFieldValue).where(LoanFieldValue.loan_id == loan.id)):
        db.session.delete(value)
    db.session.delete(loan)
    _commit_or_conflict()


def _checked(client: Client, data: dict) -> dict:
    values, errors = check_application(client, data)
    if errors:
        raise ValidationFailed(errors)
    return values


def _apply(loan: Loan, values: dict) -> None:
    """Put the application's values and its product's terms on the draft."""
    chosen = product(values["product_code"])
    loan.annual_rate, loan.repayment_method = chosen.annual_rate, chosen.repayment_method
    loan.upfront_fee = to_money(chosen.fees)
    loan.prepayment_indemnity_months = chosen.prepayment_indemnity_months
    loan.prepayment_indemnity_percent = chosen.prepayment_indemnity_percent
    loan.grace_kind = "principal" if values["grace_months"] else "none"
    for name, value in values.items():
        setattr(loan, name, value)


def _commit_or_conflict() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict() from None


def _expect(loan: Loan, version, *statuses: str) -> None:
    if version is not None and int(version) != loan.version:
        raise Conflict()
    if loan.status not in statuses:
        raise ValidationFailed({"": _l("This loan is no longer at this step.")})


def submit(loan_id: int, *, user, version=None) -> Loan:
    """Send a draft to the approval queue."""
    loan = get_loan(loan_id)
    _expect(loan, version, "draft")
    loan.status, loan.submitted_at = "submitted", utcnow()
    notifications.loan_submitted(loan)
    _commit_or_conflict()
    return loan


def decide(loan_id: int, *, user, approve: bool, version, note: str = "") -> Loan:
    """Approve or reject a submitted application: never by the person who drafted it.

    Two people deciding at once: the second gets ``Conflict`` (the loan's ``version`` moved).
    """
    loan = get_loan(loan_id)
    _expect(loan, version, "submitted")
    if loan.drafted_by_id == user.id:
        raise ValidationFailed({"": _l("You drafted this application: another person must decide on it.")})
    if not approve and not note.strip():
        raise ValidationFailed({"note": _l("Give the reason for the rejection.")})
    loan.status = "approved" if approve else "rejected"
    loan.decided_by_id, loan.decided_at, loan.decision_note = user.id, utcnow(), note.strip() or None
    notifications.loan_decided(loan)
    _commit_or_conflict()
    emit(Event("loan.approved" if approve else "loan.rejected", loan.institution_id,
               {"loan_id": loan.id, "client_id": loan.client_id}))
    return loan


# --- schedules and the offer --------------------------------------------------------------

def terms_schedule(loan: Loan, disbursed_on: date) -> Schedule:
    """The microloan's schedule computed from the loan's terms, for a disbursement on ``disbursed_on``."""
    grace = Grace.PRINCIPAL if loan.grace_kind == "principal" else (
        Grace.FULL if loan.grace_kind in ("everything", "full") else Grace.NONE)
    terms = loan_terms(loan.principal, Decimal(loan.annual_rate) / 100, loan.term_months, disbursed_on,
                       method=Method(loan.repayment_method), grace_months=loan.grace_months if grace != Grace.NONE else 0,
                       grace=grace, upfront_fee=loan.upfront_fee or 0)
    return build_schedule(terms)


def honour_schedule(loan: Loan, disbursed_on: date) -> Schedule | None:
    if not loan.honour_loan or loan.honour_loan <= 0:
        return None
    return honour_loan_schedule(loan.honour_loan, disbursed_on, loan.term_months, loan.honour_deferral_months or 0)


@dataclass(frozen=True)
class Offer:
    """What the borrower is told before signing.

    ``cost`` and ``apr`` are the **microloan's own** (issue 11, point 7): the interest-free honour
    loan is a separate credit with its own terms (``honour``), shown beside it. ``combined_apr``
    (both credits' cash flows together, lower because the honour loan costs nothing) is only an
    extra, labelled line; None without an honour loan.
    """

    loan: Loan
    disbursed_on: date
    schedule: Schedule
    honour: Schedule | None
    cost: CostOfBorrowing
    apr: Decimal  # percent, one decimal: the microloan's
    combined_apr: Decimal | None = None

    @property
    def total_repaid(self) -> Decimal:
        """What the microloan's instalments ask for."""
        return self.schedule.total_repaid

    @property
    def honour_total_repaid(self) -> Decimal:
        return self.honour.total_repaid if self.honour else Decimal("0.00")

    @property
    def combined_total_repaid(self) -> Decimal:
        return self.total_repaid + self.honour_total_repaid

    @property
    def honour_first_due_on(self) -> date | None:
        """The first repayment of the honour loan (after its deferral)."""
        return next((i.due_on for i in self.honour.instalments if i.total), None) if self.honour else None


def offer(loan: Loan, disbursed_on: date | None = None) -> Offer:
    """Schedules, the microloan's total cost of borrowing and APR, the honour loan's terms beside
    them, and the combined APR as an extra figure (disbursed, or as if paid out on a date)."""
    on = loan.disbursed_on or disbursed_on or clock.today()
    schedule, honour = terms_schedule(loan, on), honour_schedule(loan, on)
    combined = apr_percent(cash_flows(schedule, honour)) if honour else None
    return Offer(loan, on, schedule, honour, cost_of_borrowing(schedule), apr_percent(cash_flows(schedule)),
                 combined)


def _lines(loan: Loan, schedule: Schedule, kind: str, version: int) -> list[ScheduleLine]:
    return [ScheduleLine(loan_id=loan.id, version=version, kind=kind, number=i.number, due_date=i.due_on,
                         principal=i.principal, interest=i.interest, fees=i.fee, institution_id=loan.institution_id)
            for i in schedule.instalments]


def disburse(loan_id: int, *, on: date, user, version=None) -> Loan:
    """Pay out an approved loan on ``on``: schedule lines (microloan and honour), payment reference.

    Product rules for the moment of payment (an enterprise number, for some) are checked here.
    """
    loan = get_loan(loan_id)
    _expect(loan, version, "approved")
    chosen = product(loan.product_code)
    if chosen is not None and chosen.enterprise_number_before_disbursement and not loan.client.enterprise_number:
        raise ValidationFailed({"": _l("This product needs the enterprise number (KBO/BCE) on the client's "
                                       "file before the money is paid out.")})
    if on is None:
        raise ValidationFailed({"disbursed_on": _l("Enter the date the money was paid out.")})
    if on > clock.today():
        raise ValidationFailed({"disbursed_on": _l("The disbursement date cannot be in the future.")})
    lines = _lines(loan, terms_schedule(loan, on), "microloan", 1)
    honour = honour_schedule(loan, on)
    if honour:
        lines += _lines(loan, honour, "honour", 1)
    loan.status, loan.disbursed_on, loan.schedule_version = "active", on, 1
    loan.payment_reference = reference_for_loan(loan.id).strip("+").replace("/", "")
    db.session.add_all(lines)
    positions.refresh(loan)  # the stored position starts with the schedule
    _commit_or_conflict()
    emit(Event("loan.disbursed", loan.institution_id, {"loan_id": loan.id, "client_id": loan.client_id,
                                                      "disbursed_on": on.isoformat()}))
    return loan
