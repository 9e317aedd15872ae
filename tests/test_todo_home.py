"""The to-do home (issue 12, point 4): per role, counts and short lists that link to the work.

Data is made through the services; the page is read as each role would. Another institution's
records are never counted (the home is also walked by tests/test_isolation.py with its markers).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from core import clock
from core.api.schemas import ReferralIn
from core.extensions import db
from core.models.referrals import ReferralOffer
from core.services import chores, outbox, portfolio_writer, referrals, referrers, todo
from core.services.compliance import assessments
from core.tenancy import acting_for, all_institutions
from tests.clients_data import make_client, make_session
from tests.compliance_helpers import answer_all, load, new_assessment, submit
from tests.loans_data import make_loan
from tests.referral_helpers import body

ROUTES_TO = {"microstart": ("1000", "en"), "hefboom": ("9000", "nl")}
TWO = [("1.1", "1", True, "all"), ("1.2", "1", False, "all")]


@contextmanager
def counted():
    """The SQL statements run inside the block (as tests/test_api_statement_counts.py counts them)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def count_of(page: str, key: str) -> int | None:
    """The count shown on the card ``key``, or None when the page has no such card."""
    found = re.search(rf'id="todo-{key}-count"[^>]*>(\d+)<', page)
    return int(found.group(1)) if found else None


def card(page: str, key: str) -> str:
    """The HTML of one card."""
    start = page.index(f'id="todo-{key}"')
    return page[start:page.index("</article>", start)]


def home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def offer_to(staff, reference: str, first_name: str) -> ReferralOffer:
    """A referral received from a bank and routed to ``staff``'s institution (its offer)."""
    postal_code, language = ROUTES_TO[staff.slug]
    issued = referrers.add_referrer(name=f"Bank {reference}", kind="bank")
    data = ReferralIn.model_validate(body(external_reference=reference, **{
        "applicant.postal_code": postal_code, "applicant.language": language,
        "applicant.first_name": first_name}))
    referral = referrals.receive(issued.referrer, data)
    with all_institutions("test: find the offer"):
        offer = db.session.scalar(select(ReferralOffer).where(ReferralOffer.referral_id == referral.id))
    assert offer.institution_id == staff.institution_id
    return offer


# --- institution staff -------------------------------------------------------------------------

def test_referrals_to_take_and_to_contact_overdue_first(app, staff_a, as_user):
    app.config["MICROFIN_REFERRAL_CONTACT_DAYS"] = 10
    later = offer_to(staff_a, "R-LATER", "Laterina")
    app.config["MICROFIN_REFERRAL_CONTACT_DAYS"] = 1
    sooner = offer_to(staff_a, "R-SOONER", "Soonella")
    taken = offer_to(staff_a, "R-TAKEN", "Takenia")
    with acting_for(staff_a.institution_id):
        referrals.accept(taken.id, user=staff_a.admin)
        panel = todo.referrals(sooner.deadline + timedelta(days=1))
    assert panel.count == 3 and panel.figures == {"to_take": 2, "to_contact": 1, "overdue": 2}
    assert [item.id for item in panel.items][-1] == later.id  # the overdue ones lead
    for user in (staff_a.officer, staff_a.coach, staff_a.admin):
        page = home(as_user(user))
        assert count_of(page, "referrals") == 3
        shown = card(page, "referrals")
        assert f"/referrals/{sooner.id}" in shown and "Soonella" in shown and "contact by" in shown
        assert shown.index("Soonella") < shown.index("Laterina")
        assert 'href="/referrals/"' in shown
        as_user(user).post("/logout")


def test_contacted_referral_leaves_the_list(app, staff_a):
    offer = offer_to(staff_a, "R-1", "Contacta")
    with acting_for(staff_a.institution_id):
        referrals.accept(offer.id, user=staff_a.admin)
        referrals.record_contact(offer.id, contacted_on=clock.today())
        assert todo.referrals(clock.today()).count == 0


def test_applications_wait_for_a_lender_other_than_the_drafter(staff_a, as_user):
    loan = make_loan(staff_a, status="submitted")  # drafted by the officer
    page = home(as_user(staff_a.admin))
    assert count_of(page, "applications") == 1
    assert f'href="/loans/{loan.id}"' in card(page, "applications") and "Loan Borrower" in card(page, "applications")
    as_user(staff_a.admin).post("/logout")
    page = home(as_user(staff_a.officer))
    assert count_of(page, "applications") == 0 and "Nothing to do." in card(page, "applications")
    as_user(staff_a.officer).post("/logout")
    assert count_of(home(as_user(staff_a.coach)), "applications") is None  # coaches do not decide


def test_my_late_loans_are_those_i_drafted_or_whose_client_i_coach(staff_a, as_user):
    client = make_client(staff_a, first_name="Tardy", last_name="Payer", coach_id=staff_a.coach.id)
    loan = make_loan(staff_a, client, disbursed_on=date(2025, 1, 15))  # nothing paid since
    for user, expected in ((staff_a.officer, 1), (staff_a.coach, 1), (staff_a.admin, 0)):
        page = home(as_user(user))
        assert count_of(page, "late_loans") == expected, user.role
        if expected:
            shown = card(page, "late_loans")
            assert f'href="/loans/{loan.id}"' in shown and "Tardy Payer" in shown and "days late" in shown
        as_user(user).post("/logout")


def test_a_loan_paid_on_time_is_not_late(staff_a):
    make_loan(staff_a, disbursed_on=clock.today())
    with acting_for(staff_a.institution_id):
        assert todo.late_loans(staff_a.officer, clock.today()).count == 0


def test_my_coaching_actions_and_sessions_this_week(staff_a, as_user):
    from core.services.coaching import ActionInput

    today = chores.today()
    client = make_client(staff_a, first_name="Coached", last_name="Person")
    make_session(staff_a, client, held_on=today, actions=[
        ActionInput("Ask three suppliers for prices", date(2020, 1, 1)),
        ActionInput("Open a bank account", todo.week_end(today)),
        ActionInput("Next year's plan", today + timedelta(days=30))])
    page = home(as_user(staff_a.coach))
    assert count_of(page, "coaching_actions") == 2
    shown = card(page, "coaching_actions")
    assert f'href="/clients/{client.id}"' in shown and "Ask three suppliers" in shown and "overdue" in shown
    assert "Next year" not in shown
    assert count_of(page, "coaching_sessions") == 1 and "Business plan" in card(page, "coaching_sessions")
    as_user(staff_a.coach).post("/logout")
    page = home(as_user(staff_a.officer))
    assert count_of(page, "coaching_actions") == 0 and count_of(page, "coaching_sessions") == 0


def test_statement_lines_waiting_for_assignment(staff_a, as_user):
    from core.services import statements

    page = home(as_user(staff_a.officer))
    assert count_of(page, "statement_lines") == 0 and 'href="/loans/statements/queue"' in card(page, "statement_lines")
    with acting_for(staff_a.institution_id):
        done = statements.book("date,amount,reference,counterparty\n2026-03-02,125.50,,Unknown payer\n",
                               "coda.csv", user=staff_a.officer)
    assert (done.booked, done.queued) == (0, 1)
    page = home(as_user(staff_a.officer))
    assert count_of(page, "statement_lines") == 1 and "Unknown payer" in card(page, "statement_lines")
    as_user(staff_a.officer).post("/logout")
    assert count_of(home(as_user(staff_a.coach)), "statement_lines") is None


def test_compliance_work_of_my_institution(app, staff_a, auditor, as_user):
    catalogue = load(TWO)
    draft = new_assessment(staff_a, catalogue, start="2026-01-01", end="2026-12-31")
    page = home(as_user(staff_a.admin))
    assert count_of(page, "compliance") == 1
    assert f'href="/compliance/assessments/{draft.id}"' in card(page, "compliance")
    assert "todo-compliance-next-due" not in page
    as_user(staff_a.admin).post("/logout")
    assert count_of(home(as_user(staff_a.officer)), "compliance") is None  # the admin's work
    as_user(staff_a.officer).post("/logout")

    earlier = new_assessment(staff_a, catalogue)
    answer_all(staff_a, earlier, {"1.1": "met", "1.2": "met"})
    submit(staff_a, earlier)
    assessments.start_review(assessment_id=earlier.id, by=auditor)
    with app.test_request_context():
        assessments.request_changes(assessment_id=earlier.id, by=auditor)
    page = home(as_user(staff_a.admin))
    shown = card(page, "compliance")
    assert count_of(page, "compliance") == 2 and "returned by the federation" in shown
    assert shown.index(f"/compliance/assessments/{earlier.id}") < shown.index(f"/compliance/assessments/{draft.id}")
    as_user(staff_a.admin).post("/logout")

    submit(staff_a, earlier)
    assessments.start_review(assessment_id=earlier.id, by=auditor)
    with app.test_request_context():
        assessments.approve(assessment_id=earlier.id, by=auditor, on=chores.today() - timedelta(days=700))
    page = home(as_user(staff_a.admin))
    # the draft, and the progress report due within the reminder window
    assert count_of(page, "compliance") == 2
    assert "Next due: Progress report" in card(page, "compliance")


# --- the federation ------------------------------------------------------------------------------

def test_auditor_reviews_submitted_assessments_of_every_institution(staff_a, staff_b, auditor, as_user):
    catalogue = load(TWO)
    waiting = new_assessment(staff_b, catalogue)
    answer_all(staff_b, waiting, {"1.1": "met", "1.2": "met"})
    submit(staff_b, waiting)
    new_assessment(staff_a, catalogue)  # a draft stays the institution's own
    page = home(as_user(auditor))
    assert count_of(page, "assessments_to_review") == 1
    shown = card(page, "assessments_to_review")
    assert f'href="/federation/assessments/{waiting.id}"' in shown and "Hefboom" in shown
    assert count_of(page, "referrals") is None and count_of(page, "late_loans") is None


def test_operator_sees_failed_mails(mail_app, smtp_server, operator, as_user):
    smtp_server.refuse("gone@example.test")
    outbox.enqueue(to="gone@example.test", template="password_reset", kind="password_reset", locale="en",
                   context={"user_name": "Anna", "reset_url": "http://crm.microfin.test/password/reset/x",
                            "hours": 1})
    db.session.commit()
    outbox.deliver_due()
    page = home(as_user(operator))
    assert count_of(page, "mail_failures") == 1
    shown = card(page, "mail_failures")
    assert "gone@example.test" in shown and 'href="/operator/mail?status=failed' in shown
    assert todo.mail_failures(datetime.now(timezone.utc) + timedelta(days=8)).count == 0


def test_operator_sees_stuck_imports(staff_a, operator, as_user):
    with acting_for(staff_a.institution_id):
        run = portfolio_writer.start_run("portfolio.csv", "client_ref\n", user=staff_a.admin)
    assert todo.stuck_imports(datetime.now(timezone.utc)).count == 0  # not stuck yet
    panel = todo.stuck_imports(datetime.now(timezone.utc) + timedelta(hours=2))
    assert panel.count == 1 and panel.items[0].id == run.id and panel.items[0].filename == "portfolio.csv"
    assert count_of(home(as_user(operator)), "stuck_imports") == 0


def test_operator_sees_worker_health(app, operator, as_user):
    page = home(as_user(operator))
    assert count_of(page, "worker_health") == len(chores.CHORES) and "never ran" in card(page, "worker_health")
    now = datetime.now(timezone.utc).replace(hour=12)  # after every chore's time
    runs = chores.run_due(now)
    ran_at = max(run.started_at for run in runs)  # the runs' own clock
    assert todo.worker_health(ran_at + timedelta(minutes=30)).count == 0  # within every chore's period
    stale = todo.worker_health(ran_at + timedelta(days=2))
    # a monthly chore is not stale after two days; the daily and hourly ones are
    frequent = {c.name for c in chores.CHORES if c.period in ("daily", "hourly")}
    assert {item.problem for item in stale.items} == {"stale"} and stale.count == len(frequent)
    assert {item.name for item in stale.items} <= frequent  # the card lists the first few


# --- isolation, size, language -------------------------------------------------------------------

def test_another_institutions_work_is_never_counted(staff_a, staff_b, as_user):
    offer_to(staff_b, "R-B", "Otheria")
    client = make_client(staff_b, first_name="Other", last_name="Borrower-B", coach_id=staff_b.coach.id)
    product = dict(product_code="impulskrediet", own_contribution="0", principal="5000")
    make_loan(staff_b, client, **product)
    make_loan(staff_b, client, status="submitted", **product)
    make_session(staff_b, client, coach_id=staff_b.coach.id)
    for user in (staff_a.admin, staff_a.officer, staff_a.coach):
        page = home(as_user(user))
        for key in ("referrals", "applications", "late_loans", "coaching_actions", "coaching_sessions"):
            assert count_of(page, key) in (0, None), (user.role, key)
        assert "Otheria" not in page and "Borrower-B" not in page
        as_user(user).post("/logout")
    page = home(as_user(staff_b.officer))
    assert count_of(page, "referrals") == 1 and count_of(page, "late_loans") == 1


def test_the_home_page_runs_a_bounded_number_of_statements(app, staff_a, auditor, operator, as_user):
    client = make_client(staff_a, first_name="Busy", last_name="Client", coach_id=staff_a.admin.id)
    for n in range(7):
        offer_to(staff_a, f"R-{n}", f"Applicant{n}")
        make_loan(staff_a, client, status="submitted")
        make_session(staff_a, client, coach_id=staff_a.admin.id)
    make_loan(staff_a, client)
    new_assessment(staff_a, load(TWO))
    pages = {}
    for user, most in ((staff_a.admin, 12), (auditor, 5), (operator, 7)):
        signed_in = as_user(user)
        with counted() as statements:
            pages[user.role] = home(signed_in)
        assert len(statements) <= most, (user.role, len(statements), statements)
        signed_in.post("/logout")
    admin_page = pages["admin"]
    assert count_of(admin_page, "referrals") == 7 and "and 2 more" in card(admin_page, "referrals")
    assert card(admin_page, "referrals").count("<li>") == todo.LIMIT
    assert count_of(admin_page, "coaching_sessions") == 7 and count_of(admin_page, "late_loans") == 1  # its client is coached by the admin


def test_the_home_page_speaks_the_users_language(staff_a, as_user):
    with acting_for(staff_a.institution_id):  # a write of the institution's (row-level security)
        staff_a.officer.preferred_language = "nl"
        db.session.commit()
    page = home(as_user(staff_a.officer))
    assert "Niets te doen." in page and "Nothing to do." not in page


@pytest.mark.parametrize("role", ["admin", "officer", "coach"])
def test_empty_home_has_nothing_to_do(staff_a, as_user, role):
    page = home(as_user(getattr(staff_a, role)))
    assert 'id="todo"' in page and "Nothing to do." in page
