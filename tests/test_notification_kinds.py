"""Every notification kind fires through its real trigger, for the right people only (issue 12).

Each test makes one kind (and variant) happen through the service call or chore that causes it in
production, then checks who was told: exactly the expected users of the institution concerned,
never a user of the other institution. ``@fires`` records what each test covers, and a guard test
fails when a kind or variant of ``notifications.KINDS`` has no such test.

Then the invitation, referral-offered and loan-decision mails in Dutch and French through a real
SMTP server, and a permanent bounce: recorded, the institution's admins told (``mail_bounced``).
"""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Notification
from core.models.mail import OutboxMail
from core.services import accounts, chores, loans, notifications, outbox, portfolio_writer
from core.services import clients as client_service
from core.services.compliance import assessments
from core.services.institutions import by_slug
from core.tenancy import acting_for, all_institutions
from tests.clients_data import make_client, make_session
from tests.compliance_helpers import answer_all, load, new_assessment
from tests.conftest import PASSWORD, post
from tests.loans_data import make_loan
from tests.mail_helpers import text_of
from tests.referral_helpers import body, make_referrer, send

#: (kind, variant) -> the test that makes it fire; filled by ``@fires``.
FIRED: dict[tuple[str, str], str] = {}


def fires(kind: str, variant: str = ""):
    """Mark a test as the one that makes ``kind`` (``variant``) fire through its real trigger."""
    def mark(test):
        FIRED[(kind, variant)] = test.__name__
        return test
    return mark


def told(kind: str, variant: str = "") -> set[int]:
    """The ids of the users told of ``kind`` with ``variant``, in any institution."""
    db.session.expire_all()
    with all_institutions("test: who was told"):
        found = db.session.scalars(select(Notification).where(Notification.kind == kind)).all()
    return {n.user_id for n in found if (n.params or {}).get("variant", "") == variant}


def everyone(*staffs) -> set[int]:
    return {u.id for s in staffs for u in (s.admin, s.officer, s.coach)}


def assert_told_exactly(kind: str, variant: str, expected: set[int], other_staff) -> None:
    got = told(kind, variant)
    assert got == expected, (kind, variant, got, expected)
    assert not got & everyone(other_staff), "a user of the other institution was told"


# --- referrals -----------------------------------------------------------------------------------

@pytest.fixture
def bank(app):
    return make_referrer()


def offered(client, bank, key="k1", **changes):
    """A referral sent through the API; it is routed (Ghent, Dutch: to Hefboom) and offered."""
    from core.models.referrals import ReferralOffer

    _, token = bank
    answer = send(client, token, body(**changes), key=key)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    with all_institutions("test: the offer"):
        return db.session.scalars(select(ReferralOffer).where(
            ReferralOffer.referral_id == answer.get_json()["id"])).one()


@fires("referral_offered")
def test_referral_offered_tells_the_lenders_of_the_institution_offered(client, bank, staff_a, staff_b):
    offer = offered(client, bank)
    assert offer.institution_id == staff_b.institution_id
    assert_told_exactly("referral_offered", "", {staff_b.admin.id, staff_b.officer.id}, staff_a)


@fires("referral_deadline", "tomorrow")
def test_referral_deadline_tomorrow(client, bank, staff_a, staff_b):
    offer = offered(client, bank)
    with acting_for(staff_a.institution_id):  # another institution's check tells nobody of it
        assert notifications.referral_deadlines(offer.deadline - timedelta(days=1)) == 0
    with acting_for(offer.institution_id):
        assert notifications.referral_deadlines(offer.deadline - timedelta(days=2)) == 0  # not yet
        assert notifications.referral_deadlines(offer.deadline - timedelta(days=1)) == 2
        assert notifications.referral_deadlines(offer.deadline - timedelta(days=1)) == 0  # told once
    assert_told_exactly("referral_deadline", "tomorrow", {staff_b.admin.id, staff_b.officer.id}, staff_a)
    assert told("referral_deadline", "passed") == set()


@fires("referral_deadline", "passed")
def test_referral_deadline_passed(client, bank, staff_a, staff_b):
    offer = offered(client, bank)
    with acting_for(offer.institution_id):
        assert notifications.referral_deadlines(offer.deadline) == 0  # the day itself: not passed
        assert notifications.referral_deadlines(offer.deadline + timedelta(days=1)) == 2
    assert_told_exactly("referral_deadline", "passed", {staff_b.admin.id, staff_b.officer.id}, staff_a)


# --- loans ---------------------------------------------------------------------------------------

@fires("loan_awaiting_decision")
def test_loan_submitted_tells_every_lender_but_its_drafter(app, staff_a, staff_b):
    make_loan(staff_a, status="submitted")
    assert_told_exactly("loan_awaiting_decision", "", {staff_a.admin.id}, staff_b)  # not the coach either


@fires("loan_decided", "approved")
def test_loan_approved_tells_its_drafter(app, staff_a, staff_b):
    make_loan(staff_a, status="approved")
    assert_told_exactly("loan_decided", "approved", {staff_a.officer.id}, staff_b)
    assert told("loan_decided", "rejected") == set()


@fires("loan_decided", "rejected")
def test_loan_rejected_tells_its_drafter(app, staff_a, staff_b):
    loan = make_loan(staff_a, status="submitted")
    with acting_for(staff_a.institution_id):
        loans.decide(loan.id, user=staff_a.admin, approve=False, version=loan.version, note="Too risky")
    assert_told_exactly("loan_decided", "rejected", {staff_a.officer.id}, staff_b)
    assert told("loan_decided", "approved") == set()


@fires("instalment_late")
def test_late_instalment_tells_the_drafter_and_the_coach(app, staff_a, staff_b):
    client = make_client(staff_a, coach_id=staff_a.coach.id, last_name="Late")
    make_loan(staff_a, client, disbursed_on=date(2025, 1, 15))
    with acting_for(staff_b.institution_id):
        assert notifications.late_instalments(date(2025, 6, 1)) == 0  # not Hefboom's loan
    with acting_for(staff_a.institution_id):
        assert notifications.late_instalments(date(2025, 2, 16)) == 0  # first instalment: not 7 days late yet
        assert notifications.late_instalments(date(2025, 6, 1)) == 2
        assert notifications.late_instalments(date(2025, 6, 2)) == 0  # the same instalment: told once
    assert_told_exactly("instalment_late", "", {staff_a.officer.id, staff_a.coach.id}, staff_b)


# --- coaching (the daily checks chore) ------------------------------------------------------------

@fires("action_overdue")
def test_overdue_agreed_action_tells_the_clients_coach(app, staff_a, staff_b):
    client = make_client(staff_a, coach_id=staff_a.coach.id)
    make_session(staff_a, client, held_on=date(2019, 12, 1))  # its action was due on 2020-01-01
    assert "actions_overdue: 1" in notifications.daily_checks()
    assert "actions_overdue: 0" in notifications.daily_checks()  # told once
    assert_told_exactly("action_overdue", "", {staff_a.coach.id}, staff_b)


@fires("session_tomorrow")
def test_session_tomorrow_tells_its_coach(app, staff_a, staff_b):
    client = make_client(staff_a)
    make_session(staff_a, client, held_on=chores.today() + timedelta(days=2), actions=[])
    assert "sessions_tomorrow: 0" in notifications.daily_checks()  # the day after tomorrow: not yet
    make_session(staff_a, client, held_on=chores.today() + timedelta(days=1), actions=[])
    assert "sessions_tomorrow: 1" in notifications.daily_checks()
    assert_told_exactly("session_tomorrow", "", {staff_a.coach.id}, staff_b)


# --- compliance ----------------------------------------------------------------------------------

THREE = [("1.1", "1", True, "all"), ("1.2", "1", False, "all"), ("2.1", "2", False, "larger")]


@pytest.fixture
def submitted(app, staff_a):
    """microStart's self-assessment, every clause met, submitted and taken into review."""
    with app.test_request_context():
        assessment = new_assessment(staff_a, load(THREE))
        answer_all(staff_a, assessment, {"1.1": "met", "1.2": "met"})
        with acting_for(staff_a.institution_id):
            assessments.submit(assessment=assessment, by=staff_a.admin)
        yield assessment


@fires("assessment_reviewed", "returned")
def test_assessment_returned_tells_the_admins(submitted, staff_a, staff_b, auditor):
    assessments.start_review(assessment_id=submitted.id, by=auditor)
    assert told("assessment_reviewed", "returned") == set()
    assessments.request_changes(assessment_id=submitted.id, by=auditor)
    assert_told_exactly("assessment_reviewed", "returned", {staff_a.admin.id}, staff_b)
    assert told("assessment_reviewed", "approved") == set()


def approved(assessment, auditor, on=date(2024, 2, 29)):
    assessments.start_review(assessment_id=assessment.id, by=auditor)
    return assessments.approve(assessment_id=assessment.id, by=auditor, on=on)


@fires("assessment_reviewed", "approved")
def test_assessment_approved_tells_the_admins(submitted, staff_a, staff_b, auditor):
    approved(submitted, auditor)
    assert_told_exactly("assessment_reviewed", "approved", {staff_a.admin.id}, staff_b)
    assert told("assessment_reviewed", "returned") == set()


@fires("assessment_due", "progress_report")
def test_progress_report_due_tells_the_admins(submitted, staff_a, staff_b, auditor):
    approved(submitted, auditor)  # progress report due 2026-02-28
    with acting_for(staff_b.institution_id):
        assert notifications.assessments_due(date(2026, 1, 15)) == 0  # Hefboom has no award
    with acting_for(staff_a.institution_id):
        assert notifications.assessments_due(date(2025, 11, 1)) == 0  # not yet in the window
        assert notifications.assessments_due(date(2026, 1, 15)) == 1
        assert notifications.assessments_due(date(2026, 1, 16)) == 0  # told once
    assert_told_exactly("assessment_due", "progress_report", {staff_a.admin.id}, staff_b)
    assert told("assessment_due", "renewal") == set()


@fires("assessment_due", "renewal")
def test_renewal_due_tells_the_admins(submitted, staff_a, staff_b, auditor):
    approved(submitted, auditor)  # valid until 2028-02-29
    with acting_for(staff_a.institution_id):
        assert notifications.assessments_due(date(2028, 2, 1)) >= 1
    assert_told_exactly("assessment_due", "renewal", {staff_a.admin.id}, staff_b)


# --- imports and exports -------------------------------------------------------------------------

def portfolio_csv(count=5, **change_first) -> str:
    from bench.portfolio_csv import rows
    from core.services.portfolio_import import COLUMNS

    items = list(rows(count))
    items[0].update(change_first)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(items)
    return buffer.getvalue()


def run_import(staff, content: str):
    with acting_for(staff.institution_id):
        run = portfolio_writer.start_run("portfolio.csv", content, user=staff.admin)
        portfolio_writer.execute_run(run.id)
        return portfolio_writer.get_run(run.id)


@fires("import_finished", "done")
def test_import_done_tells_its_author(app, staff_a, staff_b):
    run = run_import(staff_a, portfolio_csv())
    assert run.status == "done" and run.loans == 5
    assert_told_exactly("import_finished", "done", {staff_a.admin.id}, staff_b)
    assert told("import_finished", "failed") == set()


@fires("import_finished", "failed")
def test_import_failed_tells_its_author(app, staff_a, staff_b):
    run = run_import(staff_a, portfolio_csv(disbursed_on="2999-01-01"))
    assert run.status == "failed"
    assert_told_exactly("import_finished", "failed", {staff_a.admin.id}, staff_b)
    assert told("import_finished", "done") == set()


@fires("export_finished")
def test_export_finished_tells_its_author(app, staff_a, staff_b):
    make_client(staff_a)
    with acting_for(staff_a.institution_id):
        job = client_service.start_export(client_service.ClientFilters(), "csv", user=staff_a.officer)
        assert job.status == "running" and told("export_finished") == set()
        for _ in range(10):
            job = client_service.step_export(job.id, user=staff_a.officer)
            if job.status == "done":
                break
    assert job.status == "done"
    assert_told_exactly("export_finished", "", {staff_a.officer.id}, staff_b)


# --- bounces -------------------------------------------------------------------------------------

def invite(client, language="en", email="nora@microstart.test"):
    page = post(client, "/admin/users/invite", {"email": email, "name": "Nora", "role": "coach",
                                                "preferred_language": language}, token_from="/admin/users")
    assert page.status_code == 201, page.get_data(as_text=True)


def mails_to(address: str) -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.to_address == address)
                                   .order_by(OutboxMail.id)))


@fires("mail_bounced")
def test_a_bounced_invitation_is_recorded_and_the_admins_are_told(mail_app, smtp_server, staff_a, staff_b,
                                                                  as_user):
    second_admin = accounts.create_user(email="second@microstart.test", name="Second Admin", role="admin",
                                        institution_id=staff_a.institution_id, password=PASSWORD,
                                        preferred_language="nl")
    smtp_server.refuse("nora@microstart.test")
    invite(as_user(staff_a.admin))
    assert outbox.deliver_due() == 1
    [invitation] = mails_to("nora@microstart.test")
    assert invitation.status == "failed" and invitation.last_error.startswith("550")
    assert invitation.attempts == 1
    assert_told_exactly("mail_bounced", "", {staff_a.admin.id, second_admin.id}, staff_b)
    with acting_for(staff_a.institution_id):
        [item] = notifications.for_user(staff_a.admin.id)
    assert item.params["to"] == "nora@microstart.test" and item.params["error"].startswith("550")
    # Each admin is mailed too (in their language), nobody else, and never the bounced address.
    assert outbox.deliver_due() == 2
    messages = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in messages) == sorted([staff_a.admin.email, second_admin.email])
    english = next(m for m in messages if m["To"] == staff_a.admin.email)
    assert english["Subject"].startswith("A mail to nora@microstart.test could not be delivered: 550")
    dutch = next(m for m in messages if m["To"] == second_admin.email)
    assert dutch["Subject"].startswith("Een mail aan nora@microstart.test kon niet bezorgd worden: 550")
    assert by_slug("microstart").name("nl") in text_of(dutch)
    assert len(mails_to("nora@microstart.test")) == 1  # the bounced address got nothing more
    assert outbox.deliver_due() == 0


def test_a_temporary_failure_tells_nobody(app, staff_a, as_user):
    from tests.mail_helpers import free_port

    app.config.update(MICROFIN_SMTP_HOST="127.0.0.1", MICROFIN_SMTP_PORT=free_port(), MICROFIN_SMTP_TIMEOUT=2)
    invite(as_user(staff_a.admin))
    assert outbox.deliver_due() == 1
    [invitation] = mails_to("nora@microstart.test")
    assert invitation.status == "queued"
    assert told("mail_bounced") == set()


def test_an_admin_whose_own_address_bounces_is_told_in_the_app_only(mail_app, smtp_server, staff_a, staff_b):
    with acting_for(staff_a.institution_id):  # bounces in the digest, the rest at once
        chosen = notifications.preferences(staff_a.admin)
        notifications.save_preferences(staff_a.admin, {**chosen, "mail_bounced": "digest"})
    smtp_server.refuse(staff_a.admin.email)
    make_loan(staff_a, status="submitted")  # the admin is mailed: an application waits for a decision
    assert outbox.deliver_due() == 1
    [awaiting] = mails_to(staff_a.admin.email)
    assert awaiting.status == "failed"
    assert_told_exactly("mail_bounced", "", {staff_a.admin.id}, staff_b)
    assert mails_to(staff_a.admin.email) == [awaiting]  # no mail about the bounce to the bounced address
    assert outbox.deliver_due() == 0
    # A digest never carries it to that address either.
    with all_institutions("test"):
        item = db.session.scalars(select(Notification).where(Notification.kind == "mail_bounced")).one()
    assert item.in_digest is False
    assert notifications.send_digests() == 0
    assert mails_to(staff_a.admin.email) == [awaiting]


def test_two_admins_whose_addresses_bounce_do_not_mail_each_other_forever(mail_app, smtp_server, staff_a,
                                                                          staff_b):
    second_admin = accounts.create_user(email="second@microstart.test", name="Second Admin", role="admin",
                                        institution_id=staff_a.institution_id, password=PASSWORD)
    smtp_server.refuse(staff_a.admin.email)
    smtp_server.refuse(second_admin.email)
    make_loan(staff_a, status="submitted")  # mails both admins
    attempted = [outbox.deliver_due() for _ in range(5)]
    # The 2 mails bounce; each admin is mailed of the other's bounce (2 more, which bounce);
    # those bounces are told in the app only: nothing more is sent.
    assert attempted == [2, 2, 0, 0, 0]
    assert smtp_server.messages == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)
                             .where(OutboxMail.status == "queued")) == 0
    with all_institutions("test"):
        bounced = db.session.scalars(select(Notification).where(Notification.kind == "mail_bounced")).all()
    assert sorted(n.user_id for n in bounced) == sorted([staff_a.admin.id, second_admin.id] * 4)
    assert not {n.user_id for n in bounced} & everyone(staff_b)


def test_a_bounced_mail_of_no_institution_tells_nobody(mail_app, smtp_server, staff_a):
    smtp_server.refuse("applicant@example.test")
    outbox.enqueue(to="applicant@example.test", template="password_reset", locale="en", kind="password_reset",
                   context={"user_name": "A", "reset_url": "http://crm.microfin.test/x", "hours": 1})
    db.session.commit()
    assert outbox.deliver_due() == 1
    [mail] = mails_to("applicant@example.test")
    assert mail.status == "failed"
    assert told("mail_bounced") == set()


# --- the guard -----------------------------------------------------------------------------------

def test_every_kind_and_variant_has_a_test_that_makes_it_fire():
    every = {(kind, variant) for kind, spec in notifications.KINDS.items() for variant in spec.texts}
    assert every - set(FIRED) == set(), "kinds or variants without a test that makes them fire"
    assert set(FIRED) - every == set(), "tests of kinds or variants that no longer exist"


# --- mails in Dutch and French through a real SMTP server ------------------------------------------

def set_language(user, language: str) -> None:
    with all_institutions("test: the user's own choice, outside any request (row-level security)"):
        user.preferred_language = language
        db.session.commit()


@pytest.mark.parametrize(("language", "words", "greeting"), [
    ("nl", "nodigt u uit voor Microfin CRM", "Beste Nora,"),
    ("fr", "vous invite dans Microfin CRM", "Bonjour Nora,"),
])
def test_invitation_mail_in_dutch_and_french(mail_app, smtp_server, staff_a, as_user, language, words, greeting):
    invite(as_user(staff_a.admin), language)
    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    name = by_slug("microstart").name(language)
    assert message["To"] == "nora@microstart.test"
    assert words in message["Subject"] and name in message["Subject"]
    text = text_of(message)
    assert text.startswith(greeting) and name in text
    assert {"nl": "Dit bericht werd verstuurd door", "fr": "Ce message a été envoyé par"}[language] in text
    assert "invites you" not in text and "Hello" not in text


def test_referral_offered_mail_in_dutch_and_french(mail_app, smtp_server, client, bank, staff_a, staff_b):
    set_language(staff_b.admin, "nl")
    set_language(staff_b.officer, "fr")
    offered(client, bank)
    assert outbox.deliver_due() == 2
    smtp_server.wait_for(2)
    [dutch] = smtp_server.to(staff_b.admin.email)
    [french] = smtp_server.to(staff_b.officer.email)
    assert dutch["Subject"].startswith("Een doorverwijzing van")
    assert "werd aan uw instelling aangeboden" in dutch["Subject"] and "12.000,00" in dutch["Subject"]
    assert french["Subject"].startswith("Un renvoi de") and "proposé à votre institution" in french["Subject"]
    for message, language, greeting, footer in (
            (dutch, "nl", "Beste", "Dit bericht werd verstuurd door Microfin CRM voor"),
            (french, "fr", "Bonjour", "Ce message a été envoyé par Microfin CRM pour")):
        text, name = text_of(message), by_slug("hefboom").name(language)
        assert text.startswith(f"{greeting} {message['To'].split('@')[0].title()} Hefboom,")
        assert f"{footer} {name}." in text and name in str(message["From"])
        assert message["Content-Language"] == language
        assert "offered to your institution" not in text
        assert "Sofie" not in text and "Peeters" not in text  # the applicant is not named in a mail
    assert smtp_server.to(staff_a.admin.email) == [] and smtp_server.to(staff_a.officer.email) == []


@pytest.mark.parametrize(("language", "approve", "words", "footer"), [
    ("nl", True, "werd goedgekeurd", "Dit bericht werd verstuurd door Microfin CRM voor"),
    ("fr", True, "a été approuvée", "Ce message a été envoyé par Microfin CRM pour"),
    ("nl", False, "werd geweigerd", "Dit bericht werd verstuurd door Microfin CRM voor"),
    ("fr", False, "a été refusée", "Ce message a été envoyé par Microfin CRM pour"),
])
def test_loan_decision_mail_in_dutch_and_french(mail_app, smtp_server, staff_a, language, approve, words,
                                                footer):
    set_language(staff_a.officer, language)
    loan = make_loan(staff_a, status="submitted")
    with acting_for(staff_a.institution_id):
        loans.decide(loan.id, user=staff_a.admin, approve=approve, version=loan.version, note="Not viable")
    outbox.deliver_due()
    smtp_server.wait_for(2)  # the admin's "waits for your decision", the officer's decision
    [message] = smtp_server.to(staff_a.officer.email)
    subject, text = message["Subject"], text_of(message)
    start = {"nl": "Uw kredietaanvraag voor", "fr": "Votre demande de crédit pour"}[language]
    assert subject.startswith(start) and words in subject
    name = by_slug("microstart").name(language)
    assert f"{footer} {name}." in text and words in text
    assert "Borrower" not in text  # the client is not named in a mail
    assert "application" not in text.lower()


def test_a_count_of_one_reads_in_the_singular_in_every_language(app):
    from types import SimpleNamespace

    from flask_babel import force_locale

    from core.services import notifications

    with app.test_request_context():
        for lang, one, many in (("en", "is 1 day late", "is 3 days late"), ("nl", "is 1 dag te laat", "is 3 dagen te laat"),
                                ("fr", "a 1 jour de retard", "a 3 jours de retard")):
            with force_locale(lang):
                texts = [notifications.text(SimpleNamespace(kind="instalment_late", params={
                    "client": "A", "due_on": "2026-01-05", "days": days})) for days in (1, 3)]
            assert one in texts[0] and many in texts[1], texts
