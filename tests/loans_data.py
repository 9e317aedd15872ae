"""Building loans for tests, through the services (microStart's Jump product by default)."""
from __future__ import annotations

from datetime import date

from core.services import loans, repayments
from core.tenancy import acting_for
from tests.clients_data import make_client


def application(**overrides) -> dict:
    data = {"product_code": "jump", "principal": "6000", "term_months": "24",
            "purpose_category": "investment", "purpose": "A food truck", "honour_loan": "0",
            "honour_deferral_months": "0", "grace_months": "0", "bank_cofinancing": "0",
            "own_contribution": "500"}
    data.update(overrides)
    return data


def make_loan(staff, client=None, *, status="active", disbursed_on=date(2025, 1, 15), **overrides):
    """A loan drafted by the officer, approved by the admin and (by default) paid out."""
    client = client or make_client(staff, first_name="Loan", last_name="Borrower")
    with acting_for(staff.institution_id):
        loan = loans.draft_application(client.id, application(**overrides), user=staff.officer)
        if status == "draft":
            return loan
        loans.submit(loan.id, user=staff.officer)
        if status == "submitted":
            return loan
        loans.decide(loan.id, user=staff.admin, approve=True, version=loan.version)
        if status == "approved":
            return loan
        return loans.disburse(loan.id, on=disbursed_on, user=staff.admin)


def pay(staff, loan, on, amount):
    with acting_for(staff.institution_id):
        return repayments.record_payment(loan.id, paid_on=on, amount=str(amount), user=staff.officer)
