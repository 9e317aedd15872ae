"""Erasure that erases (issue 14, point 5): the audit trail's personal values are sealed with a key
per person, and erasing the person destroys the key. Real database, real HTTP."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select, text

from core import clock
from core.extensions import db
from core.models import AuditEntry, Client, ClientNote, Loan, SubjectKey
from core.models.referrals import Referral
from core.services import audit, chores, clients, erasure
from core.tenancy import acting_for, all_institutions
from tests.clients_data import VALID_IBAN, make_client, make_session, national_number
from tests.conftest import post
from tests.loans_data import make_loan, pay
from tests.referral_helpers import auth, body, make_referrer, send

CLIENT_VALUES = ("Amina", "El Idrissi", "1985-07-30", "amina@example.be", "470123456", "Rue Haute",
                 "Saveurs d", VALID_IBAN, "A private note about Amina")


def _raw_trail() -> str:
    """Every audit row's changes as the database holds them (no decryption), of every institution
    (row-level security would otherwise show nothing, and a search of it would prove nothing)."""
    with all_institutions("test: the raw trail"):
        rows = db.session.execute(text("SELECT changes FROM audit_entries")).all()
    assert rows, "the trail is never empty here: reading it must not depend on the context"
    return "\n".join(str(row[0]) for row in rows)


def _entries(record_type: str, record_id: int) -> list[AuditEntry]:
    with all_institutions("test"):
        return list(db.session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == record_type, AuditEntry.record_id == record_id).order_by(AuditEntry.id)))


def _years_ago(years: int) -> date:
    today = clock.today()
    return today.replace(year=today.year - years, day=min(today.day, 28))


# --- the referral's applicant ---------------------------------------------------------------------

def test_a_withdrawn_referrals_personal_values_are_nowhere_in_the_trail(client, app, staff_b):
    referrer, token = make_referrer()
    created = send(client, token, body()).get_json()
    with all_institutions("test"):
        stored = db.session.get(Referral, created["id"])
        values = [stored.applicant_first_name, stored.applicant_last_name, stored.applicant_birth_date.isoformat(),
                  stored.applicant_email, stored.applicant_phone, stored.applicant_match_key]
    assert "Sofie" in values and "sofie@example.be" in values
    # before: sealed, not in clear, and readable through the key
    raw = _raw_trail()
    assert not [value for value in values if value in raw]
    create = _entries("referrals", created["id"])[0]
    assert audit.opened(create)["applicant_first_name"] == "Sofie"

    assert client.post(f"/api/v1/referrals/{created['id']}/withdraw", headers=auth(token)).status_code == 200
    db.session.rollback()  # a new transaction: the keys seen in this one were cached for it
    raw = _raw_trail()
    assert not [value for value in values if value in raw]
    assert db.session.scalar(select(func.count()).select_from(SubjectKey).where(
        SubjectKey.kind == "referral", SubjectKey.subject_id == created["id"])) == 0
    entries = _entries("referrals", created["id"])
    # who did what and when is still there; the values are gone for everyone
    assert [e.action for e in entries][:1] == ["create"] and "update" in [e.action for e in entries]
    assert all(e.at is not None and e.actor for e in entries)
    opened = audit.opened(entries[0])
    assert opened["applicant_first_name"] == audit.ERASED and opened["amount_requested"] == "12000.00"
    erasing = [audit.opened(e) for e in entries if "applicant_email" in e.changes]
    assert erasing[-1]["applicant_email"] == audit.ERASED


def test_the_institutions_trail_says_erased_personal_data(client, app, staff_b, as_user):
    _, token = make_referrer()
    created = send(client, token, body()).get_json()
    client.post(f"/api/v1/referrals/{created['id']}/withdraw", headers=auth(token))
    as_user(staff_b.admin)
    page = client.get("/admin/audit?record_type=referrals").get_data(as_text=True)
    assert "(erased personal data)" in page and "Sofie" not in page
    from flask_babel import force_locale

    from core.web.audit_labels import value_text

    with app.test_request_context():
        for language, words in (("nl", "gewist"), ("fr", "effacé")):
            with force_locale(language):
                assert words in value_text("referrals", "applicant_email", audit.ERASED).lower()


# --- a client: erase, pseudonymise, refuse ---------------------------------------------------------

def _client_with_history(staff, **overrides):
    made = make_client(staff, **overrides)
    with acting_for(staff.institution_id):
        clients.update_client(made.id, {**_data_of(made), "phone": "0470 99 88 77"}, user=staff.officer,
                              version=made.version)
        clients.add_note(made.id, "A private note about Amina", user=staff.officer)
    return made


def _data_of(made) -> dict:
    from tests.clients_data import client_data

    return client_data(national_number="")


def _erase(client, staff, client_id, **data):
    form = {"how": "erase", "reason": "subject_request", "confirm": "y", **data}
    return post(client, f"/clients/{client_id}/erase", {k: v for k, v in form.items() if v is not None},
                token_from=f"/clients/{client_id}/erase")


def test_an_admin_erases_a_client_and_nothing_personal_is_left(client, staff_a, as_user):
    made = _client_with_history(staff_a)
    as_user(staff_a.admin)
    page = client.get(f"/clients/{made.id}/erase")
    assert page.status_code == 200 and "No loan record of this client must be kept" in page.get_data(as_text=True)
    done = _erase(client, staff_a, made.id)
    assert done.status_code == 303, done.get_data(as_text=True)
    db.session.rollback()
    raw = _raw_trail()
    assert not [value for value in CLIENT_VALUES if value in raw], raw
    with acting_for(staff_a.institution_id):
        stored = db.session.get(Client, made.id)
        assert stored.erased_at is not None and stored.first_name == erasure.PLACEHOLDER_FIRST_NAME
        assert stored.email is None and stored.iban is None and stored.national_number_secret is None
        assert db.session.scalar(select(func.count()).select_from(ClientNote)
                                 .where(ClientNote.client_id == made.id)) == 0
    entries = _entries("clients", made.id)
    assert entries[0].action == "create" and {e.action for e in entries[1:-1]} == {"update"}
    assert entries[-1].actor == staff_a.admin.email and entries[-1].changes == {
        "reason": "subject_request", "kept_until": None}
    assert audit.opened(entries[0])["first_name"] == audit.ERASED
    trail = client.get(f"/admin/audit?record_type=clients&record_id={made.id}").get_data(as_text=True)
    assert "(erased personal data)" in trail and "Amina" not in trail
    assert "was erased on" in client.get(f"/clients/{made.id}").get_data(as_text=True)


def test_erasing_is_refused_within_retention_and_pseudonymising_keeps_the_loan(client, staff_a, as_user):
    made = _client_with_history(staff_a)
    loan = make_loan(staff_a, made, disbursed_on=clock.today())
    as_user(staff_a.admin)
    assert "still running" in client.get(f"/clients/{made.id}/erase").get_data(as_text=True)
    refused = _erase(client, staff_a, made.id)
    assert refused.status_code == 422
    assert "A loan of this client is still running" in refused.get_data(as_text=True)
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        assert db.session.get(Client, made.id).first_name == "Amina"

    done = _erase(client, staff_a, made.id, how="pseudonymise")
    assert done.status_code == 303
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        stored = db.session.get(Client, made.id)
        kept = db.session.get(Loan, loan.id)
        assert stored.pseudonymised_at is not None and stored.erased_at is None
        assert stored.first_name == erasure.PLACEHOLDER_FIRST_NAME and stored.email is None
        assert kept.status == "active" and kept.principal and kept.purpose == "A food truck"
    raw = _raw_trail()
    assert not [value for value in CLIENT_VALUES if value in raw]
    # the key is kept while the loan records are: the institution can still answer for them
    entries = _entries("clients", made.id)
    assert audit.opened(entries[0])["first_name"] == "Amina"
    assert entries[-1].action == "pseudonymise" and entries[-1].changes["kept_until"] == "running"


@pytest.mark.parametrize("data, field_error", [
    ({"reason": None}, "Choose the reason."),
    ({"confirm": None}, "Tick the box to confirm: this cannot be undone."),
    ({"how": None}, "Choose whether to erase or to pseudonymise."),
])
def test_bad_input_shows_the_field_error_and_writes_nothing(client, staff_a, as_user, data, field_error):
    made = make_client(staff_a)
    as_user(staff_a.admin)
    with all_institutions("test"):
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    answer = _erase(client, staff_a, made.id, **data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and field_error in page and 'class="field-error"' in page
    db.session.expire_all()
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert db.session.get(Client, made.id).first_name == "Amina"


def test_only_the_institutions_admin_may_erase(app, staff_a, staff_b):
    from tests.conftest import login

    made = make_client(staff_a)
    for user in (staff_a.officer, staff_a.coach):
        browser = app.test_client()
        login(browser, user)
        assert browser.get(f"/clients/{made.id}/erase").status_code == 403
        assert post(browser, f"/clients/{made.id}/erase", {"how": "erase", "reason": "subject_request",
                                                          "confirm": "y"}).status_code == 403
    other = app.test_client()
    login(other, staff_b.admin)
    assert other.get(f"/clients/{made.id}/erase").status_code == 404
    assert post(other, f"/clients/{made.id}/erase", {"how": "erase", "reason": "subject_request",
                                                    "confirm": "y"}).status_code == 404
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        assert db.session.get(Client, made.id).erased_at is None


# --- the purge chore -------------------------------------------------------------------------------

def _repaid_client(staff, years_ago: int, first_name: str):
    made = make_client(staff, first_name=first_name, national_number=national_number(date(1985, 7, 30),
                                                                                     serial=years_ago))
    loan = make_loan(staff, made, disbursed_on=_years_ago(years_ago + 2))
    pay(staff, loan, _years_ago(years_ago), "100.00")
    with acting_for(staff.institution_id):
        stored = db.session.get(Loan, loan.id)
        stored.status, stored.closed_on = "repaid", _years_ago(years_ago)
        db.session.commit()
    return made


def test_the_purge_chore_erases_after_retention_only(app, staff_a):
    old = _repaid_client(staff_a, 11, "Eleven")
    recent = _repaid_client(staff_a, 9, "Nine")
    chore = next(c for c in chores.CHORES if c.name == "purge-retention")
    assert chore.function()() == 1
    db.session.rollback()
    with acting_for(staff_a.institution_id):
        assert db.session.get(Client, old.id).erased_at is not None
        assert db.session.get(Client, recent.id).erased_at is None
        assert db.session.get(Client, recent.id).first_name == "Nine"
    raw = _raw_trail()
    assert "Eleven" not in raw and "Nine" not in raw  # sealed either way, in clear nowhere
    entries = _entries("clients", old.id)
    assert entries[-1].action == "erase" and entries[-1].actor == "worker"
    assert entries[-1].changes["reason"] == erasure.PURGE_REASON
    assert chore.function()() == 0  # idempotent


# --- entries written in clear before shred_01 ------------------------------------------------------

def _legacy_entry(record_type: str, record_id: int, changes: dict, institution_id=None) -> None:
    """An entry as the trail wrote it before personal values were sealed (straight into the table)."""
    from core.models.types import utcnow

    db.session.execute(AuditEntry.__table__.insert().values(
        at=utcnow(), user_id=None, actor="old-version", action="create", institution_id=institution_id,
        record_type=record_type, record_id=record_id, changes=changes))
    db.session.commit()


def test_audit_seal_encrypts_what_older_versions_wrote_in_clear(app, runner, staff_a, client):
    made = make_client(staff_a)
    _legacy_entry("clients", made.id, {"first_name": "Oldname", "last_name": "Clearly", "sector": "horeca"},
                  staff_a.institution_id)
    _legacy_entry("client_notes", 987654, {"client_id": made.id, "body": "Oldnote in clear"}, staff_a.institution_id)
    _, token = make_referrer()
    created = send(client, token, body()).get_json()
    client.post(f"/api/v1/referrals/{created['id']}/withdraw", headers=auth(token))
    _legacy_entry("referrals", created["id"], {"applicant_first_name": "Erasedbefore"})
    assert "Oldname" in _raw_trail() and "Erasedbefore" in _raw_trail()

    from core.cli import main

    result = runner.invoke(main, ["audit", "seal", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "sealed 3" in result.output
    db.session.rollback()
    raw = _raw_trail()
    assert "Oldname" not in raw and "Oldnote" not in raw and "Erasedbefore" not in raw and "horeca" in raw
    entries = _entries("clients", made.id)
    assert audit.opened(entries[-1]) == {"first_name": "Oldname", "last_name": "Clearly", "sector": "horeca"}
    assert audit.opened(_entries("client_notes", 987654)[0])["body"] == "Oldnote in clear"
    # an applicant erased before: no new key made for them, the value is simply gone
    assert audit.opened(_entries("referrals", created["id"])[-1]) == {"applicant_first_name": audit.ERASED}
    assert db.session.scalar(select(func.count()).select_from(SubjectKey).where(
        SubjectKey.kind == "referral", SubjectKey.subject_id == created["id"])) == 0
    again = runner.invoke(main, ["audit", "seal"])
    assert again.exit_code == 0 and "sealed 0" in again.output


def test_a_trail_read_without_its_data_key_says_unreadable_not_erased(app, staff_a):
    from core.web.audit_labels import value_text

    made = make_client(staff_a)
    entry = _entries("clients", made.id)[0]
    db.session.rollback()
    before = app.config.get("MICROFIN_DATA_KEYS")
    app.config["MICROFIN_DATA_KEYS"] = ["another-key-than-the-one-it-was-written-with"]
    try:
        assert audit.opened(entry)["first_name"] == audit.UNREADABLE
        with app.test_request_context():
            assert "unreadable" in value_text("clients", "first_name", audit.UNREADABLE)
    finally:
        app.config["MICROFIN_DATA_KEYS"] = before
        db.session.rollback()


def test_nothing_more_is_recorded_on_an_erased_client(client, staff_a, as_user):
    made = make_client(staff_a)
    as_user(staff_a.admin)
    assert _erase(client, staff_a, made.id).status_code == 303
    note = post(client, f"/clients/{made.id}/notes", {"body": "Amina called back"}, token_from=f"/clients/{made.id}")
    assert note.status_code == 422 and "nothing more can be recorded" in note.get_data(as_text=True)
    db.session.rollback()
    assert "Amina called back" not in _raw_trail()
    with acting_for(staff_a.institution_id):
        assert db.session.scalar(select(func.count()).select_from(ClientNote).where(ClientNote.client_id == made.id)) == 0


def test_the_institutions_retention_setting_moves_the_purge(app, staff_a):
    from core.models import PluginSetting

    old = _repaid_client(staff_a, 11, "Eleven")
    with acting_for(staff_a.institution_id):
        db.session.add(PluginSetting(key="retention_years", value=12))
        db.session.commit()
        assert erasure.retention_years() == 12
        assert erasure.retention_of(old.id).until == _years_ago(11).replace(year=_years_ago(11).year + 12)
    assert erasure.purge_everywhere() == 0
    db.session.rollback()
    with acting_for(staff_a.institution_id):
        assert db.session.get(Client, old.id).erased_at is None


def test_rotating_the_data_key_keeps_the_trail_readable(make_app):
    from core.cli import main
    from core.tenancy import all_institutions as everywhere
    from tests.conftest import make_staff

    old, new = "old-data-key-" + "o" * 40, "new-data-key-" + "n" * 40
    old_app = make_app(MICROFIN_DATA_KEYS=[old])
    with old_app.app_context():
        made = make_client(make_staff("microstart"))
        client_id = made.id
        db.session.remove()
    both = make_app(MICROFIN_DATA_KEYS=[new, old])
    result = both.test_cli_runner().invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0 and "keys of persons" in result.output, result.output
    new_only = make_app(MICROFIN_DATA_KEYS=[new])
    with new_only.app_context(), everywhere("test"):
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "clients",
                                                           AuditEntry.record_id == client_id))
        assert audit.opened(entry)["first_name"] == "Amina"
        db.session.remove()


def test_the_mails_to_the_client_and_their_followup_links_go_with_their_data(app, staff_a):
    from core.models import Followup, OutboxMail
    from tests.followup_helpers import consent, run_chore
    from tests.reports_data import make_loan as make_financed, person

    made = person(staff_a, first_name="Amina", email="amina@example.be", preferred_language="fr")
    make_financed(staff_a, made, "5000", date(2025, 1, 10))
    consent(staff_a, made)
    assert run_chore(staff_a, date(2025, 7, 10)).invited == 1
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)
                                 .where(OutboxMail.to_address == "amina@example.be")) == 1
    with acting_for(staff_a.institution_id):
        erasure.apply(made.id, user=staff_a.admin, how="pseudonymise", reason="subject_request", confirmed=True)
    db.session.rollback()
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)
                                 .where(OutboxMail.to_address == "amina@example.be")) == 0
        assert db.session.scalar(select(func.count()).select_from(Followup).where(
            Followup.client_id == made.id, Followup.token_hash.is_not(None))) == 0


def test_free_text_with_no_person_key_of_its_own_never_reaches_the_trail(app, staff_a):
    """An agreed action (keyed to a session, not a client) and a booking's note (to a loan) are
    recorded as changed, never with their text: erasing the client then leaves none of it."""
    from core.services import repayments

    made = make_client(staff_a)
    make_session(staff_a, made)  # agrees "Ask three suppliers for prices"
    loan = make_loan(staff_a, made)
    with acting_for(staff_a.institution_id):
        repayments.record_payment(loan.id, paid_on=loan.disbursed_on, amount="100", user=staff_a.officer,
                                  note="Paid by her brother Karim")
    raw = _raw_trail()
    assert "Ask three suppliers" not in raw and "Karim" not in raw
    for field in ("description", "note"):  # JSON text on SQLite, a dict's repr on PostgreSQL
        assert re.search(rf"""["']{field}["']: ["']\(secret\)["']""", raw), field
