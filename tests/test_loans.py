"""Loans through their services: application, maker-checker, disbursement, payments, arrears, PAR."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.models import LateNotice, LedgerEntry, Loan, ScheduleLine
from core.plugin_api import hookimpl
from core.services import coaching, loans, repayments
from core.services.errors import ValidationFailed
from core.tenancy import acting_for
from tests.clients_data import make_client
from tests.loans_data import application, make_loan, pay


def _count(model) -> int:
    from core.tenancy import all_institutions

    with all_institutions("test count"):
        return db.session.scalar(select(func.count()).select_from(model))


def _errors(call) -> dict:
    with pytest.raises(ValidationFailed) as failed:
        call()
    return {k: str(v) for k, v in failed.value.errors.items()}


def test_application_checks_the_product_with_a_reason_per_field(staff_a):
    client = make_client(staff_a)
    with acting_for(staff_a.institution_id):
        errors = _errors(lambda: loans.draft_application(client.id, application(
            principal="100", term_months="99", honour_loan="5000", purpose=""), user=staff_a.officer))
        assert "at least 500" in errors["principal"]
        assert "between 3 and 48 months" in errors["term_months"]
        assert "purpose" in errors
        errors = _errors(lambda: loans.draft_application(client.id, application(honour_loan="2500"),
                                                         user=staff_a.officer))
        assert "honour loan may not exceed 2000.00 EUR" in errors["honour_loan"]
        errors = _errors(lambda: loans.draft_application(client.id, application(principal="-5", own_contribution="abc"),
                                                         user=staff_a.officer))
        assert "greater than zero" in errors["principal"] and "such as 125.50" in errors["own_contribution"]
    assert _count(Loan) == 0


def test_maker_checker_and_two_people_approving_at_once(app, staff_a):
    loan = make_loan(staff_a, status="submitted")
    with acting_for(staff_a.institution_id):
        errors = _errors(lambda: loans.decide(loan.id, user=staff_a.officer, approve=True, version=loan.version))
        assert "another person must decide" in errors[""]
        version = loans.get_loan(loan.id).version
        loans.decide(loan.id, user=staff_a.admin, approve=True, version=version)
        with pytest.raises(loans.Conflict):  # the coach opened the page at the same version
            loans.decide(loan.id, user=staff_a.coach, approve=False, version=version, note="no")
        db.session.expire_all()
        assert loans.get_loan(loan.id).status == "approved"
        assert loans.get_loan(loan.id).decided_by_id == staff_a.admin.id


def test_concurrent_update_of_the_row_is_a_conflict(app, staff_a):
    loan = make_loan(staff_a, status="submitted")
    with acting_for(staff_a.institution_id):
        mine = loans.get_loan(loan.id)
        db.session.execute(db.update(Loan).where(Loan.id == loan.id).values(version=Loan.version + 1),
                           execution_options={"synchronize_session": False})  # another worker
        with pytest.raises(loans.Conflict):
            loans.decide(mine.id, user=staff_a.admin, approve=True, version=None)


def test_disbursement_builds_schedules_and_reference(staff_a):
    loan = make_loan(staff_a, honour_loan="1500", honour_deferral_months="6")
    with acting_for(staff_a.institution_id):
        loan = loans.get_loan(loan.id)
        micro = [l for l in loan.schedule_lines if l.kind == "microloan"]
        honour = [l for l in loan.schedule_lines if l.kind == "honour"]
        assert sum(l.principal for l in micro) == Decimal("6000.00") and len(micro) == 24
        assert sum(l.principal for l in honour) == Decimal("1500.00") and all(l.interest == 0 for l in honour)
        assert min(l.due_date for l in honour if l.principal) == date(2025, 8, 15)
        assert len(loan.payment_reference) == 12
        offer = loans.offer(loan)
        assert offer.cost.total == offer.schedule.total_interest  # the honour loan is interest-free
        # the offer's APR is the microloan's own; the honour loan lowers only the combined, extra figure
        assert Decimal("0") < offer.combined_apr < Decimal("12.13") < offer.apr


def test_enterprise_number_is_needed_before_disbursement_for_hefboom(staff_b):
    client = make_client(staff_b, enterprise_number=None)
    with acting_for(staff_b.institution_id):
        loan = loans.draft_application(client.id, application(product_code="impulskrediet", own_contribution="0"),
                                       user=staff_b.officer)
        loans.submit(loan.id, user=staff_b.officer)
        loans.decide(loan.id, user=staff_b.admin, approve=True, version=loan.version)
        errors = _errors(lambda: loans.disburse(loan.id, on=date(2025, 1, 1), user=staff_b.admin))
        assert "enterprise number" in errors[""]
        assert loans.get_loan(loan.id).status == "approved"
    assert _count(ScheduleLine) == 0


def test_bad_payments_are_refused_and_nothing_is_written(staff_a):
    loan = make_loan(staff_a)
    with acting_for(staff_a.institution_id):
        record = lambda on, amount: repayments.record_payment(loan.id, paid_on=on, amount=amount, user=staff_a.officer)  # noqa: E731
        assert "before the disbursement" in _errors(lambda: record(date(2025, 1, 1), "100"))["paid_on"]
        assert "greater than zero" in _errors(lambda: record(date(2025, 2, 1), "-10"))["amount"]
        assert "such as 125.50" in _errors(lambda: record(date(2025, 2, 1), "ten"))["amount"]
    assert _count(LedgerEntry) == 0


def test_payment_allocation_reversal_and_no_reversal_of_a_reversal(staff_a):
    loan = make_loan(staff_a, principal="1200", term_months="12")
    with acting_for(staff_a.institution_id):
        first = loans.get_loan(loan.id).schedule_lines[0]
        entry = pay(staff_a, loan, date(2025, 2, 15), first.principal + first.interest)
        state = repayments.position(loans.get_loan(loan.id), date(2025, 2, 16))
        assert state.arrears.days_past_due == 0 and state.state.positions[0].outstanding() == 0
        reversal = repayments.reverse(loan.id, entry.id, on=date(2025, 2, 20), user=staff_a.officer)
        assert "cannot be reversed" in _errors(
            lambda: repayments.reverse(loan.id, reversal.id, on=date(2025, 2, 21), user=staff_a.officer))[""]
        assert "already been reversed" in _errors(
            lambda: repayments.reverse(loan.id, entry.id, on=date(2025, 2, 21), user=staff_a.officer))[""]
        later = repayments.position(loans.get_loan(loan.id), date(2025, 2, 21))
        assert later.arrears.days_past_due == 6


def test_events_overpayment_repaid_closes_coaching(make_app):
    from tests.conftest import make_staff

    seen = []

    class Listener:
        @hookimpl
        def on_event(self, event):
            seen.append((event.name, dict(event.data)))

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("listener", Listener())])
    with app.app_context():
        staff = make_staff("microstart")
        client = make_client(staff)
        with acting_for(staff.institution_id):
            coaching.open_track(client.id)
        loan = make_loan(staff, client, principal="600", term_months="3")
        with acting_for(staff.institution_id):
            total = sum(l.principal + l.interest for l in loans.get_loan(loan.id).schedule_lines)
            pay(staff, loan, date(2025, 2, 1), total + Decimal("10"))
            loan = loans.get_loan(loan.id)
            loan_id, client_id = loan.id, client.id
            assert loan.status == "repaid" and loan.closed_on == date(2025, 2, 1)
            assert repayments.position(loan, date(2025, 2, 1)).state.credit == Decimal("10.00")
            assert coaching.track_of(client.id).status != "open"
            other = make_loan(staff, client, principal="600", term_months="3")
            repayments.check_arrears(date(2025, 3, 1))
            repayments.write_off(other.id, on=date(2025, 3, 2), user=staff.admin)
    names = [name for name, _ in seen if name.startswith("loan.")]
    assert names == ["loan.approved", "loan.disbursed", "loan.repaid", "loan.approved", "loan.disbursed",
                     "loan.instalment_late", "loan.written_off"]
    assert dict(seen)["loan.repaid"] == {"loan_id": loan_id, "client_id": client_id}


def test_par30_on_a_hand_checked_portfolio(staff_a, staff_b):
    # B: 3,000 paid out 15 Jan, nothing paid; A: 5,000 paid out 1 Mar; C: 2,000 paid out 10 Feb.
    make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    make_loan(staff_a, principal="5000", disbursed_on=date(2025, 3, 1))
    make_loan(staff_a, principal="2000", disbursed_on=date(2025, 2, 10))
    gone = make_loan(staff_a, principal="4000", disbursed_on=date(2024, 6, 1))
    make_loan(staff_b, principal="9000", product_code="impulskrediet", own_contribution="0",
              disbursed_on=date(2024, 6, 1))  # the other institution's late loan never counts
    with acting_for(staff_a.institution_id):
        repayments.write_off(gone.id, on=date(2025, 1, 31), user=staff_a.admin)
        march = repayments.quality(date(2025, 3, 20))
        # B is 33 days late (first instalment 15 Feb); C 10 days; A not yet due.
        assert march.gross_outstanding == Decimal("10000.00")
        assert march.at_risk_30 == Decimal("3000.00") and march.par30 == Decimal("0.3000")
        assert march.par90 == 0
        may = repayments.quality(date(2025, 5, 20))  # B 94 days, C 71, A 49: no payment at all
        assert may.par30 == Decimal("1.0000") and may.par90 == Decimal("0.3000")
        follow_up = repayments.late(date(2025, 3, 20))
        assert [p.loan.principal for p in follow_up] == [Decimal("3000.00"), Decimal("2000.00")]
        assert follow_up[0].arrears.bucket == "31-60"
        # before the write-off date, the written-off loan was still in the portfolio
        assert repayments.quality(date(2025, 1, 20)).gross_outstanding > Decimal("3000")


def test_check_arrears_tells_each_late_instalment_once(staff_a, app):
    loan = make_loan(staff_a, principal="1200", term_months="12", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        assert repayments.check_arrears(date(2025, 3, 20)) == 2
        assert repayments.check_arrears(date(2025, 3, 21)) == 0
        assert repayments.check_arrears(date(2025, 4, 20)) == 1
        assert db.session.scalar(select(func.count()).select_from(LateNotice)) == 3
        assert loan.id


def test_reschedule_keeps_history_and_stays_in_par_while_late(staff_a):
    loan = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        repayments.reschedule_loan(loan.id, on=date(2025, 4, 1), term_months=24, user=staff_a.admin)
        loan = loans.get_loan(loan.id)
        assert loan.schedule_version == 2 and {l.version for l in loan.schedule_lines} == {1, 2}
        assert loan.late_since == date(2025, 2, 15)
        new = [l for l in loan.schedule_lines if l.version == 2]
        assert sum(l.principal for l in new) > Decimal("3000")  # interest arrears folded in
        # the first new instalment (1 May) is unpaid on 10 May: late since 15 Feb, still at risk
        later = repayments.position(loan, date(2025, 5, 10))
        assert later.arrears.days_past_due == (date(2025, 5, 10) - date(2025, 2, 15)).days
        assert repayments.quality(date(2025, 5, 10)).par30 == Decimal("1.0000")


def test_write_off_and_recovery(staff_a):
    loan = make_loan(staff_a, principal="1000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        repayments.write_off(loan.id, on=date(2025, 9, 1), user=staff_a.admin)
        assert "record a recovery" in _errors(lambda: pay(staff_a, loan, date(2025, 9, 2), "50"))[""]
        repayments.record_recovery(loan.id, on=date(2025, 9, 10), amount="150", user=staff_a.admin)
        loan = loans.get_loan(loan.id)
        assert loan.status == "written_off" and repayments.recovered(loan) == Decimal("150.00")
        written = next(e for e in loan.ledger if e.kind == "write_off")
        assert written.amount > Decimal("1000")


def test_lending_compliance_evidence(staff_a):
    from core.services.compliance import catalogue as catalogues
    from core.services.compliance import evidence
    from tests.compliance_helpers import new_assessment

    make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    starter = catalogues.load_starter()
    today = clock.today()
    assessment = new_assessment(staff_a, starter, start=f"{today.year}-01-01", end=today.isoformat())
    with acting_for(staff_a.institution_id):
        found = evidence.automatic_evidence(assessment)
    assert found["1.1"][0]["ok"] is True and "1 offers approved" in found["1.1"][0]["summary"]
    assert found["2.6"][0]["ok"] is True and "0 by the person who drafted" in found["2.6"][0]["summary"]
    assert found["4.1"][0]["ok"] is True and f"{today:%Y-%m}: 100.00 %" in found["4.1"][0]["summary"]
