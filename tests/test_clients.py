"""Clients: intake, validation of Belgian identifiers, duplicates, edits, the list, reveal, consents,
notes, the timeline, plugin panels and exports, through real HTTP with CSRF."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from markupsafe import Markup
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.models import AuditEntry, Client, ClientNote, Consent
from core.plugin_api import ClientPanel, TimelineEntry, hookimpl
from core.services import clients as service
from core.services import identifiers
from core.tenancy import acting_for
from tests.clients_data import VALID_ENTERPRISE, VALID_IBAN, client_data, make_client, national_number
from tests.conftest import csrf_token, login, post


def form_of(data: dict) -> dict:
    """The form fields a browser would send for ``data``."""
    form = {}
    for key, value in data.items():
        if value is None:
            form[key] = ""
        elif isinstance(value, bool):
            if value:
                form[key] = "y"
        elif isinstance(value, date):
            form[key] = value.isoformat()
        else:
            form[key] = str(value)
    return form


def count_clients(staff) -> int:
    with acting_for(staff.institution_id):
        return db.session.scalar(select(func.count()).select_from(Client))


def field_error(body: str, field: str) -> str:
    match = re.search(rf'id="{field}-error" class="field-error">([^<]*)<', body)
    return match.group(1) if match else ""


# --- intake -------------------------------------------------------------------------------------

def test_officer_creates_a_client_and_sees_the_page(as_user, staff_a):
    client = as_user(staff_a.officer)
    response = post(client, "/clients/new", form_of(client_data(coach_id=staff_a.coach.id)),
                    token_from="/clients/new")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Amina El Idrissi" in page and "Saveurs d&#39;Amina" in page
    assert "0403.170.701" in page and "BE71 0961 2345 6769" in page
    assert "Brussels-Capital" in page and "Coach Microstart" in page
    assert "••.••.••-•••.28" in page and "85.07.30-033.28" not in page
    with acting_for(staff_a.institution_id):
        stored = db.session.scalar(select(Client))
    assert stored.region == "brussels" and stored.province == "BRU"
    assert stored.national_number_hash == identifiers.national_number_hash("85073003328")
    assert "85073003328" not in (stored.national_number_secret or "")
    assert identifiers.decrypt(stored.national_number_secret) == "85073003328"


def test_intake_attributes_are_frozen_when_details_change(as_user, staff_a):
    created = make_client(staff_a, employment_status="job_seeker", education_level="primary",
                          country_of_birth="MA")
    assert (created.intake_gender, created.intake_born_abroad, created.intake_low_educated,
            created.intake_job_seeker, created.intake_age_group) == ("female", True, True, True, "30_to_49")
    client = as_user(staff_a.officer)
    changed = form_of(client_data(employment_status="self_employed", education_level="higher",
                                  country_of_birth="BE", gender="other", national_number=""))
    response = post(client, f"/clients/{created.id}/edit", {**changed, "version": "1", "status": "active"},
                    token_from=f"/clients/{created.id}/edit")
    assert response.status_code == 303, response.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        stored = db.session.get(Client, created.id)
        db.session.refresh(stored)
    assert stored.employment_status == "self_employed" and stored.gender == "other"
    assert (stored.intake_gender, stored.intake_born_abroad, stored.intake_low_educated,
            stored.intake_job_seeker) == ("female", True, True, True)
    assert stored.national_number_last == "28"  # an empty field keeps the stored number


BAD_INPUT = [
    ("national_number", "85.07.30-033.29", "This is not a valid national register number"),
    ("enterprise_number", "0403.170.702", "This is not a valid enterprise number"),
    ("iban", "BE71 0961 2345 6768", "This is not a valid IBAN"),
    ("postal_code", "0999", "Enter a Belgian postal code"),
    ("postal_code", "75001", "Enter a Belgian postal code"),
    # two days ahead: still the future in Brussels when the run crosses midnight (UTC or local)
    ("birth_date", (clock.today() + timedelta(days=2)).isoformat(), "The birth date cannot be in the future."),
    ("birth_date", (clock.today() - timedelta(days=15 * 365)).isoformat(), "at least 16 years old"),
    ("birth_date", "30/02/1990", "Not a valid date value."),
    ("email", "jean@@example", "This is not a valid e-mail address"),
    ("email", "jean@example", "This is not a valid e-mail address"),
    ("phone", "abc", "This is not a valid phone number"),
    ("phone", "0470 12", "This is not a valid phone number"),
]


@pytest.mark.parametrize("field,typed,message", BAD_INPUT)
def test_bad_input_is_refused_next_to_the_field_keeping_what_was_typed(as_user, staff_a, field,
                                                                       typed, message):
    client = as_user(staff_a.officer)
    response = post(client, "/clients/new", {**form_of(client_data()), field: typed},
                    token_from="/clients/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(body, field)
    assert f'value="{typed}"' in body and 'value="Amina"' in body
    assert count_clients(staff_a) == 0


def test_field_errors_are_in_the_users_language(as_user, staff_a):
    client = as_user(staff_a.officer)
    post(client, "/language", {"lang": "nl"})
    response = post(client, "/clients/new", {**form_of(client_data()), "iban": "BE00", "postal_code": "12"},
                    token_from="/clients/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Dit is geen geldig IBAN" in field_error(body, "iban")
    assert "Geef een Belgische postcode" in field_error(body, "postal_code")
    post(client, "/language", {"lang": "fr"})
    body = post(client, "/clients/new", {**form_of(client_data()), "iban": "BE00"},
                token_from="/clients/new").get_data(as_text=True)
    assert "IBAN valide" in field_error(body, "iban")


@pytest.mark.parametrize("lang,email_message,phone_message", [
    ("en", "This is not a valid e-mail address", "This is not a valid phone number"),
    ("nl", "Dit is geen geldig e-mailadres", "Dit is geen geldig telefoonnummer"),
    ("fr", "adresse e-mail valide", "numéro de téléphone valide"),
])
def test_a_bad_email_and_phone_are_refused_in_the_users_language(as_user, staff_a, lang, email_message,
                                                                 phone_message):
    client = as_user(staff_a.officer)
    post(client, "/language", {"lang": lang})
    response = post(client, "/clients/new", {**form_of(client_data()), "email": "jean@@example", "phone": "abc"},
                    token_from="/clients/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert email_message in field_error(body, "email")
    assert phone_message in field_error(body, "phone")
    assert 'value="jean@@example"' in body and 'value="abc"' in body
    assert count_clients(staff_a) == 0


def test_an_empty_first_name_asks_for_the_first_name(as_user, staff_a):
    client = as_user(staff_a.officer)
    response = post(client, "/clients/new", {**form_of(client_data()), "first_name": ""},
                    token_from="/clients/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(body, "first_name") == "Enter the first name."
    assert field_error(body, "last_name") == ""
    assert 'value="El Idrissi"' in body
    post(client, "/language", {"lang": "nl"})
    body = post(client, "/clients/new", {**form_of(client_data()), "first_name": "", "last_name": ""},
                token_from="/clients/new").get_data(as_text=True)
    assert field_error(body, "first_name") == "Vul de voornaam in."
    assert field_error(body, "last_name") == "Vul de achternaam in."
    assert count_clients(staff_a) == 0


def test_phones_are_stored_as_e164_and_shown_nationally(as_user, staff_a):
    client = as_user(staff_a.officer)
    response = post(client, "/clients/new",
                    form_of(client_data(phone="0470/12.34.56", email="Amina@EXAMPLE.be")),
                    token_from="/clients/new")
    assert response.status_code == 303
    with acting_for(staff_a.institution_id):
        stored = db.session.scalar(select(Client))
    assert stored.phone == "+32470123456" and stored.email == "Amina@example.be"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "0470 12 34 56" in page
    assert 'value="0470 12 34 56"' in client.get(f"/clients/{stored.id}/edit").get_data(as_text=True)
    foreign = make_client(staff_a, phone="+33 6 12 34 56 78", first_name="Marie")
    assert foreign.phone == "+33612345678"
    assert "+33 6 12 34 56 78" in client.get(f"/clients/{foreign.id}").get_data(as_text=True)


def test_a_coach_of_another_institution_is_refused(as_user, staff_a, staff_b):
    client = as_user(staff_a.officer)
    response = post(client, "/clients/new", form_of(client_data(coach_id=staff_b.coach.id)),
                    token_from="/clients/new")
    assert response.status_code == 422
    assert "Choose a coach of your institution." in field_error(response.get_data(as_text=True), "coach_id")
    assert count_clients(staff_a) == 0


def test_duplicate_by_national_number_shows_the_existing_record_and_asks(as_user, staff_a):
    existing = make_client(staff_a)
    client = as_user(staff_a.officer)
    data = form_of(client_data(first_name="Other", last_name="Person"))
    response = post(client, "/clients/new", data, token_from="/clients/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This client may already exist" in body and f'/clients/{existing.id}"' in body
    assert 'name="confirm_duplicate" type="hidden" value="yes"' in body
    assert count_clients(staff_a) == 1
    confirmed = post(client, "/clients/new", {**data, "confirm_duplicate": "yes"}, token_from="/clients/new")
    assert confirmed.status_code == 303 and count_clients(staff_a) == 2


def test_duplicate_by_name_and_birth_date_ignores_accents_and_case(as_user, staff_a):
    make_client(staff_a, first_name="Élodie", last_name="Dupont", national_number="")
    client = as_user(staff_a.officer)
    response = post(client, "/clients/new",
                    form_of(client_data(first_name="elodie", last_name="DUPONT", national_number="")),
                    token_from="/clients/new")
    assert response.status_code == 409 and "Élodie Dupont" in response.get_data(as_text=True)


def test_the_same_person_at_another_institution_is_not_a_duplicate(as_user, staff_a, staff_b):
    make_client(staff_b)
    client = as_user(staff_a.officer)
    assert post(client, "/clients/new", form_of(client_data()), token_from="/clients/new").status_code == 303


def test_two_people_editing_the_same_client_second_gets_a_conflict_and_keeps_input(app, staff_a):
    created = make_client(staff_a)
    first, second = app.test_client(), app.test_client()
    login(first, staff_a.officer)
    login(second, staff_a.coach)
    edit = f"/clients/{created.id}/edit"
    form_second = second.get(edit).get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in form_second
    base = {**form_of(client_data(national_number="")), "version": "1", "status": "active"}
    assert post(first, edit, {**base, "phone": "0499 00 00 01"}, token_from=edit).status_code == 303
    response = post(second, edit, {**base, "phone": "0499 99 99 99"}, token_from=edit)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this client while you were editing" in body
    assert 'value="0499 99 99 99"' in body and 'name="version" type="hidden" value="2"' in body
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        assert db.session.get(Client, created.id).phone == "+32499000001"  # the first edit, stored as E.164


def test_stale_write_between_check_and_commit_is_a_conflict(app, staff_a):
    created = make_client(staff_a)
    with acting_for(staff_a.institution_id):
        db.session.execute(Client.__table__.update().where(Client.id == created.id).values(version=7))
        db.session.commit()
        with pytest.raises(service.EditConflict):
            service.update_client(created.id, client_data(national_number=""), user=staff_a.officer,
                                  version=1)


# --- sensitive data -------------------------------------------------------------------------------

def test_reveal_is_for_officers_and_is_audited(app, staff_a):
    created = make_client(staff_a, disability=True)
    officer, coach = app.test_client(), app.test_client()
    login(officer, staff_a.officer)
    login(coach, staff_a.coach)
    url = f"/clients/{created.id}/national-number"
    shown = post(officer, url, token_from=f"/clients/{created.id}")
    assert shown.status_code == 200 and "85.07.30-033.28" in shown.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal")).all()
    assert [(e.record_type, e.record_id, e.user_id) for e in entries] == [
        ("clients", created.id, staff_a.officer.id)]
    assert post(coach, url, token_from=f"/clients/{created.id}").status_code == 403
    coach_page = coach.get(f"/clients/{created.id}").get_data(as_text=True)
    officer_page = officer.get(f"/clients/{created.id}").get_data(as_text=True)
    assert 'id="disability"' in officer_page and "Morocco" in officer_page
    assert 'id="disability"' not in coach_page and "Morocco" not in coach_page
    assert "country_of_birth" not in coach.get(f"/clients/{created.id}/edit").get_data(as_text=True)


def test_a_coach_editing_keeps_the_sensitive_fields(app, staff_a):
    created = make_client(staff_a, disability=True, country_of_birth="MA")
    coach = app.test_client()
    login(coach, staff_a.coach)
    data = form_of(client_data(national_number="", disability=False, country_of_birth=""))
    response = post(coach, f"/clients/{created.id}/edit", {**data, "version": "1", "status": "active"},
                    token_from=f"/clients/{created.id}/edit")
    assert response.status_code == 303
    with acting_for(staff_a.institution_id):
        stored = db.session.get(Client, created.id)
        db.session.refresh(stored)
    assert stored.disability is True and stored.country_of_birth == "MA"


def test_audit_trail_never_holds_the_national_number(app, staff_a):
    make_client(staff_a)
    with acting_for(staff_a.institution_id):
        changes = [e.changes for e in db.session.scalars(select(AuditEntry))]
    assert changes and "85073003328" not in str(changes)


# --- list, filters, search, pages ---------------------------------------------------------------

def test_list_filters_search_and_keyset_pages(as_user, staff_a, monkeypatch):
    make_client(staff_a, first_name="Jan", last_name="Peeters", postal_code="9000", sector="care",
                stage="starter", enterprise_name="Zorg Jan", enterprise_number="0403170701", national_number="")
    make_client(staff_a, first_name="Marie", last_name="Lambert", postal_code="5000",
                sector="transport", enterprise_name="Taxi Marie", national_number=national_number(date(1990, 1, 2)),
                birth_date=date(1990, 1, 2), coach_id=staff_a.coach.id, enterprise_number="")
    for index in range(5):
        make_client(staff_a, first_name=f"Zed{index}", last_name=f"Zz{index}", national_number="",
                    enterprise_number="")
    client = as_user(staff_a.officer)
    names = lambda url: re.findall(r'/clients/\d+">([^<]+)</a>', client.get(url).get_data(as_text=True))
    assert names("/clients/?region=flanders") == ["Peeters, Jan"]
    assert names("/clients/?sector=transport") == ["Lambert, Marie"]
    assert names(f"/clients/?coach={staff_a.coach.id}") == ["Lambert, Marie"]
    assert names("/clients/?stage=starter&status=active") == ["Peeters, Jan"]
    assert names("/clients/?q=peet") == ["Peeters, Jan"]
    assert names("/clients/?q=marie") == ["Lambert, Marie"]
    assert names("/clients/?q=taxi") == ["Lambert, Marie"]
    assert names("/clients/?q=0403.170") == ["Peeters, Jan"]
    assert names("/clients/?q=90.01.02-033.") == []
    assert names(f"/clients/?q={national_number(date(1990, 1, 2))}") == ["Lambert, Marie"]
    live = client.get("/clients/?q=lamb", headers={"HX-Request": "true"})
    assert live.get_data(as_text=True).lstrip().startswith('<div id="client-rows">')
    monkeypatch.setattr(service, "PAGE_SIZE", 3)
    first = client.get("/clients/").get_data(as_text=True)
    cursor = re.search(r'after=([^&"]+)', first).group(1)
    second = client.get(f"/clients/?after={cursor}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.lstrip().startswith("<tr>")
    seen = re.findall(r'/clients/\d+">([^<]+)</a>', first) + re.findall(r'/clients/\d+">([^<]+)</a>', second)
    assert seen == ["Lambert, Marie", "Peeters, Jan", "Zz0, Zed0", "Zz1, Zed1", "Zz2, Zed2", "Zz3, Zed3"]
    assert 'hx-trigger="change, submit, input changed delay:300ms from:#client-search"' in first


def test_list_query_uses_the_keyset_index(app, staff_a):
    """The list page's query is answered from the (institution, sort key, id) index."""
    from sqlalchemy import text

    with acting_for(staff_a.institution_id):
        query = select(Client).where(Client.institution_id == 1).order_by(Client.sort_key, Client.id).limit(51)
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        if db.engine.dialect.name == "postgresql":
            # A test table is tiny: forbid the sequential scan so the plan shows what the index can do.
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = str(db.session.execute(text(f"EXPLAIN {compiled}")).all())
            db.session.rollback()
            assert "ix_clients_list" in plan and "Sort" not in plan
        else:
            plan = str(db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all())
            assert "ix_clients_list" in plan and "TEMP B-TREE" not in plan


# --- consents, notes, timeline --------------------------------------------------------------------

def test_consents_are_recorded_and_withdrawn(as_user, staff_a):
    created = make_client(staff_a)
    client = as_user(staff_a.officer)
    page = f"/clients/{created.id}"
    bad = post(client, f"{page}/consents", {"kind": "referral_sharing", "given_on": "2999-01-01",
                                            "method": "paper"}, token_from=page, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "The date cannot be in the future." in bad.get_data(as_text=True)
    ok = post(client, f"{page}/consents", {"kind": "referral_sharing", "given_on": "2025-02-03",
                                           "method": "email"}, token_from=page, headers={"HX-Request": "true"})
    assert ok.status_code == 201 and "Sharing with the referrer" in ok.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        consent = db.session.scalar(select(Consent))
    withdrawn = post(client, f"{page}/consents/{consent.id}/withdraw", token_from=page)
    assert "withdrawn on" in withdrawn.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        db.session.refresh(consent)
        assert consent.withdrawn_on == clock.today()


def test_inline_note_is_added_to_the_timeline_and_an_empty_one_is_422(as_user, staff_a):
    created = make_client(staff_a)
    client = as_user(staff_a.coach)
    page = f"/clients/{created.id}"
    empty = post(client, f"{page}/notes", {"body": "  "}, token_from=page, headers={"HX-Request": "true"})
    assert empty.status_code == 422 and "Write the note first." in empty.get_data(as_text=True)
    added = post(client, f"{page}/notes", {"body": "Called about the lease <b>"}, token_from=page,
                 headers={"HX-Request": "true"})
    body = added.get_data(as_text=True)
    assert added.status_code == 201 and body.lstrip().startswith('<section id="timeline">')
    assert "Called about the lease &lt;b&gt;" in body and "Coach Microstart" in body
    assert "Called about the lease" in client.get(f"{page}/timeline").get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        assert db.session.scalar(select(func.count()).select_from(ClientNote)) == 1


def test_timeline_sources_are_extensible_and_a_failing_one_is_skipped(as_user, staff_a):
    from core.services import timeline

    created = make_client(staff_a)
    timeline.source("test-loans")(lambda c: [timeline.TimelineEntry(
        at=date(2025, 5, 1), kind="loan", title="Loan disbursed for " + c.first_name)])
    timeline.source("test-broken")(lambda c: 1 / 0)
    try:
        body = as_user(staff_a.officer).get(f"/clients/{created.id}/timeline").get_data(as_text=True)
    finally:
        timeline._SOURCES.pop("test-loans")
        timeline._SOURCES.pop("test-broken")
    assert "Loan disbursed for Amina" in body and 'class="timeline-loan"' in body


# --- the client_timeline hook ---------------------------------------------------------------------

def test_hook_client_timeline_adds_the_owning_institutions_entries_only(make_app, staff_a, staff_b):
    seen = []

    class Visits:
        @hookimpl
        def client_timeline(self, client, user):
            seen.append((client.id, user.role))
            return [TimelineEntry(date(2025, 4, 2), "visit", "Site visit at " + client.city, body="Shop")]

    class Broken:
        @hookimpl
        def client_timeline(self, client, user):
            raise RuntimeError("timeline exploded")

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("visits", Visits()), ("brokenvisits", Broken())])
    with app.app_context():
        from core.plugins import state

        state(app).owners["microstart"] = "visits"
        state(app).owners["hefboom"] = "brokenvisits"
        mine, theirs = make_client(staff_a), make_client(staff_b)
        web = app.test_client()
        login(web, staff_a.coach)
        body = web.get(f"/clients/{mine.id}/timeline").get_data(as_text=True)
        assert "Site visit at Bruxelles" in body and 'class="timeline-visit"' in body
        assert seen == [(mine.id, "coach")]
        other = app.test_client()
        login(other, staff_b.officer)
        page = other.get(f"/clients/{theirs.id}")
        assert page.status_code == 200 and "Site visit" not in page.get_data(as_text=True)
        assert seen == [(mine.id, "coach")]


# --- the client_panels hook -----------------------------------------------------------------------

def test_hook_client_panels_shows_only_the_owning_institutions_panel(make_app, staff_a, staff_b):
    seen = []

    class Panels:
        @hookimpl
        def client_panels(self, client, user):
            seen.append((client.id, user.role))
            return [ClientPanel("Guarantor", Markup("<p class='g'>Guarantor: Karim</p>")),
                    ClientPanel("Escaped", "<script>x</script>", order=1)]

    class Broken:
        @hookimpl
        def client_panels(self, client, user):
            raise RuntimeError("panel exploded")

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("panels", Panels()), ("brokenpanels", Broken())])
    with app.app_context():
        from core.plugins import state

        state(app).owners["microstart"] = "panels"
        state(app).owners["hefboom"] = "brokenpanels"
        mine, theirs = make_client(staff_a), make_client(staff_b)
        web = app.test_client()
        login(web, staff_a.officer)
        body = web.get(f"/clients/{mine.id}").get_data(as_text=True)
        assert "<p class='g'>Guarantor: Karim</p>" in body
        assert "&lt;script&gt;x&lt;/script&gt;" in body
        assert body.index("Escaped") < body.index("Guarantor")
        assert seen == [(mine.id, "officer")]
        other = app.test_client()
        login(other, staff_b.officer)
        page = other.get(f"/clients/{theirs.id}")
        assert page.status_code == 200 and "Guarantor" not in page.get_data(as_text=True)


# --- exports ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_the_filtered_list_with_progress(as_user, staff_a, monkeypatch, fmt):
    monkeypatch.setattr(service, "EXPORT_CHUNK", 2)
    for index in range(5):
        make_client(staff_a, first_name=f"Export{index}", last_name=f"Person{index}", national_number="",
                    sector="care" if index != 2 else "transport")
    client = as_user(staff_a.officer)
    started = post(client, "/clients/exports", {"format": fmt, "sector": "care"}, token_from="/clients/",
                   headers={"HX-Request": "true"})
    assert started.status_code == 202
    export_url = re.search(r'hx-get="(/clients/exports/\d+)"', started.get_data(as_text=True)).group(1)
    assert "0 of 4 clients" in started.get_data(as_text=True)
    progress = client.get(export_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<progress" in progress and "2 of 4 clients" in progress
    early = client.get(export_url + "/download")
    assert early.status_code == 302
    for _ in range(3):
        body = client.get(export_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "The export is ready: 4 clients." in body
    download = client.get(export_url + "/download")
    assert download.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    else:
        rows = [list(map(str, r)) for r in load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True)]
    assert rows[0][:3] == ["Client number", "Last name", "First name"]
    assert rows[0][14:18] == ["Enterprise", "Enterprise number", "Sector", "Sector (code)"]
    assert [r[1] for r in rows[1:]] == ["Person0", "Person1", "Person3", "Person4"]
    assert {tuple(r[16:18]) for r in rows[1:]} == {("Care", "care")}
    assert "85073003328" not in download.data.decode("latin-1")


def test_another_users_export_is_404(app, staff_a):
    officer, coach = app.test_client(), app.test_client()
    login(officer, staff_a.officer)
    login(coach, staff_a.coach)
    make_client(staff_a)
    started = post(officer, "/clients/exports", {"format": "csv"}, token_from="/clients/")
    export_url = re.search(r'hx-get="(/clients/exports/\d+)"', started.get_data(as_text=True)).group(1)
    assert coach.get(export_url).status_code == 404
    assert coach.get(export_url + "/download").status_code == 404


def test_search_never_finds_another_institutions_clients_and_pages_in_name_order(as_user, staff_a, staff_b,
                                                                                 monkeypatch):
    make_client(staff_b, first_name="Theirs", last_name="Peeters", enterprise_name="Peeters BV",
                national_number=national_number(date(1980, 2, 2)), birth_date=date(1980, 2, 2))
    for first in ("Anna", "Bert", "Carl", "Dirk"):
        make_client(staff_a, first_name=first, last_name="Peeters", national_number="", enterprise_name=None)
    make_client(staff_a, first_name="Peter", last_name="Aerts", national_number="", enterprise_name=None)
    client = as_user(staff_a.officer)
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    names = lambda body: re.findall(r'/clients/\d+">([^<]+)</a>', body)
    first = client.get("/clients/?q=pee").get_data(as_text=True)
    assert names(first) == ["Peeters, Anna", "Peeters, Bert"]
    cursor = re.search(r'after=([^&"]+)', first).group(1)
    second = client.get(f"/clients/?q=pee&after={cursor}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert names(second) == ["Peeters, Carl", "Peeters, Dirk"]
    everything = client.get("/clients/?q=pe").get_data(as_text=True)
    assert names(everything) == ["Aerts, Peter", "Peeters, Anna"]
    assert "Theirs" not in client.get(f"/clients/?q={national_number(date(1980, 2, 2))}").get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        assert service.list_clients(service.ClientFilters(q="theirs"))[0] == []


def test_exports_older_than_a_day_are_removed_when_the_user_starts_another(app, staff_a):
    from core.models import ClientExport, ClientExportChunk
    from core.models.types import utcnow

    make_client(staff_a)
    with acting_for(staff_a.institution_id):
        old = service.start_export(service.ClientFilters(), "csv", user=staff_a.officer)
        service.step_export(old.id, user=staff_a.officer)
        db.session.execute(ClientExport.__table__.update().values(created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        fresh = service.start_export(service.ClientFilters(), "csv", user=staff_a.officer)
        assert [e.id for e in db.session.scalars(select(ClientExport))] == [fresh.id]
        assert db.session.scalar(select(func.count()).select_from(ClientExportChunk)) == 0


# --- the country list ---------------------------------------------------------------------------

@pytest.mark.parametrize("lang,first,then", [
    ("nl", ["België", "Nederland", "Frankrijk", "Duitsland", "Luxemburg"], "Afghanistan"),
    ("fr", ["Belgique", "Pays-Bas", "France", "Allemagne", "Luxembourg"], "Afghanistan"),
    ("en", ["Belgium", "Netherlands", "France", "Germany", "Luxembourg"], "Afghanistan"),
])
def test_the_country_list_starts_with_belgium_and_its_neighbours_and_has_no_pseudo_locale(
        as_user, staff_a, lang, first, then):
    client = as_user(staff_a.officer)
    post(client, "/language", {"lang": lang})
    page = client.get("/clients/new").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="country_of_birth".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option[^>]*value="([A-Z]*)"[^>]*>([^<]*)</option>', select_html)
    names = [name for code, name in options if code]
    assert names[:6] == [*first, then]
    codes = [code for code, _ in options if code]
    assert not {"XA", "XB", "EU", "UN", "ZZ", "QO", "EZ"} & set(codes)
    assert "Pseudo" not in select_html
    rest = names[5:]
    assert rest == sorted(rest, key=service.search_key)  # the others alphabetically, accents ignored
    assert len(codes) == len(set(codes)) and "NL" not in codes[5:]


def test_a_pseudo_locale_is_refused_as_country_of_birth(as_user, staff_a):
    client = as_user(staff_a.officer)
    response = post(client, "/clients/new", {**form_of(client_data()), "country_of_birth": "XA"},
                    token_from="/clients/new")
    assert response.status_code == 422
    assert count_clients(staff_a) == 0
