"""The advisers' portal (issue 13, point 3): portal users, the referral form with the API's rules,
the printable consent form, the organisation's referrals and nothing else, over real HTTP."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.api.schemas import CONSENT_SCOPES
from core.cli import main
from core.extensions import db
from core.models import IdempotencyRecord, OutboxMail, OutboxMessage, Referral, User
from core.models.referrals import ReferralOffer
from core.services import accounts, outbox, referrals
from core.access import view_access
from core.tenancy import acting_for, all_institutions
from core.testing.isolation import PROVIDERS
from tests import isolation_data  # noqa: F401  (registers the providers)
from tests.conftest import CSRF_RE, PASSWORD, csrf_token, login, post
from tests.mail_helpers import links_in, text_of
from tests.referral_helpers import body, make_referrer, send


def adviser(referrer, email="adviser@bank-alpha.test", name="Ada Adviser", language="en"):
    return accounts.create_user(email=email, name=name, role="referrer", institution_id=None,
                                referrer_id=referrer.id, password=PASSWORD, preferred_language=language)


def form_data(**changes) -> dict:
    """A complete portal referral form as an English-speaking adviser fills it in."""
    data = {
        "external_reference": "ALPHA-2026-0042",
        "first_name": "Sofie", "last_name": "Peeters", "birth_date": "1990-04-12",
        "email": "sofie@example.be", "phone": "+32 470 12 34 56", "postal_code": "9000", "language": "nl",
        "amount_requested": "12,000.00", "sector": "horeca", "stage": "starter",
        "purpose": "Kitchen equipment for a small restaurant", "purpose_category": "investment",
        "refused_on": (clock.today() - timedelta(days=2)).isoformat(),
        "refusal_reasons": ["insufficient_collateral"],
        "consent_given_on": (clock.today() - timedelta(days=1)).isoformat(), "consent_method": "written",
        "attestation": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def form_key(page: str) -> str:
    match = re.search(r'name="form_key"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="form_key"', page)
    assert match, "no form key on the referral form"
    return match.group(1)


def open_form(client) -> tuple[str, str]:
    page = client.get("/portal/refer")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return CSRF_RE.search(text).group(1), form_key(text)


def send_form(client, **changes):
    token, key = open_form(client)
    return client.post("/portal/refer", data={**form_data(**changes), "csrf_token": token, "form_key": key})


def stored() -> tuple[int, int, int, int]:
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    with all_institutions("test counts every row"):
        return count(Referral), count(IdempotencyRecord), count(OutboxMessage), count(ReferralOffer)


@pytest.fixture
def alpha(app):
    return make_referrer("Bank Alpha")


@pytest.fixture
def signed_in(app, alpha):
    referrer, _token = alpha
    user = adviser(referrer)
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


# --- portal users ----------------------------------------------------------------------------

def test_users_add_creates_a_portal_user_who_lands_on_the_portal(app, runner, alpha):
    result = runner.invoke(main, ["users", "add", "Bert@Bank-Alpha.test", "--role", "referrer",
                                  "--referrer", "Bank Alpha", "--name", "Bert", "--password-stdin"],
                           input="a strong password\n")
    assert result.exit_code == 0, result.output
    assert "created bert@bank-alpha.test (referrer, Bank Alpha)" in result.output
    with all_institutions("test"):
        user = db.session.scalar(select(User).where(User.email == "bert@bank-alpha.test"))
    assert user.role == "referrer" and user.referrer_id == alpha[0].id and user.institution_id is None
    client = app.test_client()
    signed = login(client, "bert@bank-alpha.test", "a strong password")
    assert signed.status_code == 302
    home = client.get(signed.headers["Location"])
    assert home.status_code == 302 and home.headers["Location"] == "/portal/"
    page = client.get("/portal/").get_data(as_text=True)
    assert "Bank Alpha" in page and "No referrals yet." in page


@pytest.mark.parametrize(("args", "error"), [
    (["--role", "referrer"], "a referrer user needs --referrer NAME"),
    (["--role", "referrer", "--referrer", "Bank Nope"], "no referrer 'Bank Nope'"),
    (["--role", "officer", "--institution", "credal", "--referrer", "Bank Alpha"],
     "Only advisers of a bank or public financier belong to a referrer organisation."),
    (["--role", "referrer", "--referrer", "Bank Alpha", "--institution", "credal"], "and to no institution"),
])
def test_users_add_refuses_a_portal_user_without_its_organisation(app, runner, alpha, args, error):
    result = runner.invoke(main, ["users", "add", "x@bank-alpha.test", *args])
    assert result.exit_code != 0 and error in result.output
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_the_operator_invites_an_adviser_by_mail_in_their_language(mail_app, smtp_server, alpha, operator, as_user):
    client = as_user(operator)
    page = client.get("/operator/portal-users/")
    assert page.status_code == 200 and "Bank Alpha" in page.get_data(as_text=True)
    answer = post(client, "/operator/portal-users/invite",
                  {"referrer_id": str(alpha[0].id), "name": "Chloé Conseil", "email": "chloe@bank-alpha.test",
                   "preferred_language": "fr"}, token_from="/operator/portal-users/")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert "chloe@bank-alpha.test" in answer.get_data(as_text=True)
    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "chloe@bank-alpha.test"
    assert "Bank Alpha" in message["Subject"] and text_of(message).startswith("Bonjour Chloé Conseil,")
    [link] = links_in(message)
    path = link.replace("http://crm.microfin.test", "")
    adviser_client = mail_app.test_client()
    page = adviser_client.get(path)
    assert page.status_code == 200
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    chosen = adviser_client.post(path, data={"password": "a long new password", "confirm": "a long new password",
                                             "csrf_token": token})
    assert chosen.status_code == 302
    signed = login(adviser_client, "chloe@bank-alpha.test", "a long new password")
    assert signed.status_code == 302
    assert adviser_client.get("/").headers["Location"] == "/portal/"
    assert "Bank Alpha" in adviser_client.get("/portal/").get_data(as_text=True)


def test_an_invitation_without_an_organisation_writes_nothing(app, alpha, operator, as_user):
    client = as_user(operator)
    answer = post(client, "/operator/portal-users/invite",
                  {"referrer_id": "", "name": "No Org", "email": "no-org@bank.test", "preferred_language": "en"},
                  token_from="/operator/portal-users/")
    assert answer.status_code == 422
    assert "choose the organisation" in answer.get_data(as_text=True)
    assert 'value="no-org@bank.test"' in answer.get_data(as_text=True)  # what was typed stays
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(User).where(User.role == "referrer")) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0


def test_only_the_operator_manages_portal_users(app, alpha, staff_a, auditor, as_user):
    for user in (staff_a.admin, auditor):
        client = app.test_client()
        login(client, user)
        assert client.get("/operator/portal-users/").status_code == 403
        token = csrf_token(client, "/")
        assert client.post("/operator/portal-users/invite", data={
            "referrer_id": str(alpha[0].id), "name": "X", "email": "x@bank-alpha.test",
            "preferred_language": "en", "csrf_token": token}).status_code == 403


def test_the_operator_disables_a_portal_user_and_their_session_ends(app, alpha, operator, as_user):
    user = adviser(alpha[0])
    adviser_client = app.test_client()
    login(adviser_client, user)
    assert adviser_client.get("/portal/").status_code == 200
    client = as_user(operator)
    done = post(client, f"/operator/portal-users/{user.id}/active", {"active": "0"},
                token_from="/operator/portal-users/")
    assert done.status_code == 302
    assert adviser_client.get("/portal/").status_code == 302  # signed out (Flask-Login: inactive)
    assert login(app.test_client(), user).status_code == 401
    # a staff member's id is not a portal user's: 404, nothing changed
    assert post(client, f"/operator/portal-users/{operator.id}/active", {"active": "0"},
                token_from="/operator/portal-users/").status_code == 404


def test_a_deactivated_organisation_ends_its_advisers_sessions(app, signed_in, alpha):
    referrer = alpha[0]
    assert signed_in.get("/portal/").status_code == 200
    referrer.active = False
    db.session.commit()
    assert signed_in.get("/portal/").status_code == 302
    assert login(app.test_client(), "adviser@bank-alpha.test").status_code == 401


# --- referring --------------------------------------------------------------------------------

def test_an_adviser_refers_an_applicant_with_the_apis_rules(app, signed_in, alpha):
    answer = send_form(signed_in)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with all_institutions("test"):
        referral = db.session.scalar(select(Referral))
    assert answer.headers["Location"] == f"/portal/referrals/{referral.id}"
    assert referral.channel == "portal" and referral.referrer_id == alpha[0].id
    assert referral.external_reference == "ALPHA-2026-0042" and str(referral.amount_requested) == "12000.00"
    assert referral.consent_method == "written" and referral.consent_scope == ["share_with_mfi", "contact"]
    assert referral.consent_given_at.date() == clock.today() - timedelta(days=1)
    assert referral.status == "offered" and referral.institution_id is not None  # routed like the API's
    page = signed_in.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Referral ALPHA-2026-0042 sent: offered to an institution." in page
    listing = signed_in.get("/portal/").get_data(as_text=True)
    assert "ALPHA-2026-0042" in listing and "offered to an institution" in listing
    assert "By its advisers on the portal" in listing


def test_the_survey_consent_is_kept_when_ticked(app, signed_in):
    assert send_form(signed_in, impact_survey="y", consent_method="verbal_recorded").status_code == 302
    with all_institutions("test"):
        referral = db.session.scalar(select(Referral))
    assert referral.consent_scope == ["share_with_mfi", "contact", "impact_survey"]
    assert referral.consent_method == "verbal_recorded"


def test_a_phone_alone_is_enough_as_in_the_api(app, signed_in):
    assert send_form(signed_in, email=None).status_code == 302
    with all_institutions("test"):
        referral = db.session.scalar(select(Referral))
    assert referral.applicant_email is None and referral.applicant_phone == "+32470123456"  # stored as E.164


def test_the_same_form_sent_twice_stores_one_referral(app, signed_in):
    token, key = open_form(signed_in)
    data = {**form_data(), "csrf_token": token, "form_key": key}
    first = signed_in.post("/portal/refer", data=data)
    second = signed_in.post("/portal/refer", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert stored()[0] == 1


def _errors(page: str) -> dict[str, str]:
    return dict(re.findall(r'<small id="([a-z_]+)-error" class="field-error">([^<]*)</small>', page))


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"email": None, "phone": None}, "email", "Give an e-mail address, a phone number or both."),
    ({"email": None, "phone": None}, "phone", "Give an e-mail address, a phone number or both."),
    ({"attestation": None}, "attestation", "Tick this box"),
    ({"external_reference": ""}, "external_reference", "Fill in this field."),
    ({"consent_given_on": None}, "consent_given_on", "Fill in this field."),
    ({"consent_given_on": (clock.today() + timedelta(days=1)).isoformat()}, "consent_given_on", "cannot be in the future"),
    ({"consent_method": ""}, "consent_method", "Fill in this field."),
    ({"birth_date": (clock.today() - timedelta(days=365 * 10)).isoformat()}, "birth_date", "between 18 and 100"),
    ({"postal_code": "0999"}, "postal_code", "Belgian postal code"),
    ({"amount_requested": "12.000,5x"}, "amount_requested", ""),
    ({"refusal_reasons": None}, "refusal_reasons", "Choose at least one reason."),
    ({"phone": "call me"}, "phone", "valid phone number"),
    ({"phone": "abc"}, "phone", "Enter a valid phone number"),
    ({"phone": "0470 12"}, "phone", "Enter a valid phone number"),
    ({"email": "jean@@example"}, "email", "Enter a valid e-mail address."),
])
def test_bad_input_names_the_field_keeps_what_was_typed_and_writes_nothing(app, signed_in, changes, field, message):
    before = stored()
    answer = send_form(signed_in, **changes)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    errors = _errors(page)
    assert field in errors and message in errors[field], errors
    assert 'value="Peeters"' in page and "Kitchen equipment for a small restaurant" in page
    assert stored() == before


def test_every_wrong_field_is_named_at_once(app, signed_in):
    page = send_form(signed_in, first_name="", postal_code="12", attestation=None,
                     amount_requested="lots").get_data(as_text=True)
    assert {"first_name", "postal_code", "attestation", "amount_requested"} <= set(_errors(page))


def test_a_reference_used_before_is_refused_on_its_field(app, signed_in, alpha):
    referrer, token = alpha
    assert send(app.test_client(), token, body(external_reference="ALPHA-2026-0042")).status_code == 201
    before = stored()
    answer = send_form(signed_in)
    assert answer.status_code == 422
    assert "already used for referral" in _errors(answer.get_data(as_text=True))["external_reference"]
    assert stored() == before


def test_the_form_speaks_to_the_adviser_and_never_autofills_their_own_data(app, signed_in):
    page = signed_in.get("/portal/refer").get_data(as_text=True)
    assert "Why you refused" in page and "Language to contact the applicant in" in page
    assert 'autocomplete="given-name"' not in page and 'autocomplete="email"' not in page


# --- what the adviser sees ------------------------------------------------------------------------

def _offer_of(referral_id: int) -> ReferralOffer:
    with all_institutions("test"):
        return db.session.scalar(select(ReferralOffer).where(ReferralOffer.referral_id == referral_id,
                                                             ReferralOffer.state == "open"))


def test_the_adviser_follows_the_referral_to_financed_and_sees_nothing_else(app, signed_in):
    location = send_form(signed_in).headers["Location"]
    referral_id = int(location.rsplit("/", 1)[1])
    offer = _offer_of(referral_id)
    with acting_for(offer.institution_id):
        referrals.accept(offer.id, notes="Secret note: looks promising, call on Tuesday")
        referrals.record_contact(offer.id, contacted_on=clock.today())
        referrals.record_outcome(offer.id, outcome="financed", disbursed_on=clock.today())
    page = signed_in.get(location).get_data(as_text=True)
    assert '<dd id="referral-status">financed</dd>' in page
    assert f"Loan disbursed: {clock.today().isoformat()}" in page
    for secret in ("Secret note", "Sofie", "Peeters", "sofie@example.be", "470 12 34 56", "Kitchen equipment",
                   "1990-04-12", "12,000", "12000"):
        assert secret not in page, secret
    listing = signed_in.get("/portal/").get_data(as_text=True)
    assert "financed" in listing and "Sofie" not in listing and "Secret note" not in listing


def test_the_adviser_sees_what_the_referrer_api_shows(app, signed_in, alpha):
    referrer, token = alpha
    client = app.test_client()
    created = send(client, token, body(external_reference="API-1")).get_json()
    page = signed_in.get(f"/portal/referrals/{created['id']}").get_data(as_text=True)
    api = client.get(f"/api/v1/referrals/{created['id']}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert "API-1" in page and "Through its API" in page
    assert api["institution"]["name"] in page
    assert api["contact_deadline"] in page


def test_one_organisation_never_sees_anothers_referrals(app, alpha):
    beta, beta_token = make_referrer("Bank Beta")
    alpha_client, beta_client = app.test_client(), app.test_client()
    login(alpha_client, adviser(alpha[0]))
    login(beta_client, adviser(beta, email="adviser@bank-beta.test"))
    beta_portal = int(send_form(beta_client, external_reference="BETA-PORTAL-7").headers["Location"].rsplit("/", 1)[1])
    beta_api = send(app.test_client(), beta_token, body(external_reference="BETA-API-8",
                                                        **{"applicant.first_name": "Other"})).get_json()["id"]
    alpha_own = int(send_form(alpha_client).headers["Location"].rsplit("/", 1)[1])
    listing = alpha_client.get("/portal/").get_data(as_text=True)
    assert "ALPHA-2026-0042" in listing and "BETA-" not in listing
    for referral_id in (beta_portal, beta_api, 2147483647):
        assert alpha_client.get(f"/portal/referrals/{referral_id}").status_code == 404
    assert "BETA-" not in alpha_client.get(f"/portal/?before={beta_api + 1}").get_data(as_text=True)
    assert beta_client.get(f"/portal/referrals/{alpha_own}").status_code == 404
    assert "ALPHA-" not in beta_client.get("/portal/").get_data(as_text=True)


def test_a_page_of_fifty_and_older_ones_behind_a_link(app, signed_in, alpha):
    referrer, token = alpha
    client = app.test_client()
    for number in range(52):
        answer = send(client, token, body(external_reference=f"R-{number:03d}", **{
            "applicant.first_name": f"P{number}", "applicant.birth_date": f"19{50 + number % 40}-01-01"}),
            key=f"k-{number}")
        assert answer.status_code == 201
    first = signed_in.get("/portal/").get_data(as_text=True)
    assert "R-051" in first and "R-002" in first and "R-001" not in first
    older = re.search(r'href="(/portal/\?before=\d+)"', first).group(1)
    second = signed_in.get(older).get_data(as_text=True)
    assert "R-001" in second and "R-000" in second and "R-051" not in second


# --- the consent form -------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "title"), [("nl", "Toestemming"), ("fr", "Consentement"), ("en", "Consent")])
def test_the_printable_consent_form_in_three_languages(app, signed_in, lang, title):
    page = signed_in.get(f"/portal/consent-form?lang={lang}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f'<html lang="{lang}">' in text
    assert f"<h1>{title}" in text
    assert "Bank Alpha" in text and "Ada Adviser" in text
    for scope in CONSENT_SCOPES:  # one clause per consent scope of the API
        assert f'id="clause-{scope}"' in text


def test_the_consent_form_clauses_differ_per_language(app, signed_in):
    texts = {lang: signed_in.get(f"/portal/consent-form?lang={lang}").get_data(as_text=True)
             for lang in ("nl", "fr", "en")}
    clause = {lang: re.search(r'id="clause-share_with_mfi">(.*?)</li>', text, re.S).group(1)
              for lang, text in texts.items()}
    assert len(set(clause.values())) == 3


# --- access: the portal only --------------------------------------------------------------------------

def _url(app, rule, values):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_a_portal_user_opens_the_portal_and_nothing_else(app, signed_in, alpha, staff_b):
    values = {name: provide(staff_b) for name, provide in PROVIDERS.items()}  # another institution's data
    values["referral_id"] = int(send_form(signed_in).headers["Location"].rsplit("/", 1)[1])
    opened = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or "GET" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        is_public, _roles = view_access(rule.endpoint)
        url = _url(app, rule, {arg: values[arg] for arg in rule.arguments})
        status = signed_in.get(url).status_code
        if rule.endpoint.startswith("portal.") or rule.endpoint in ADVISER_ACCOUNT_PAGES:
            assert status == 200, f"{url}: {status}"
            opened.append(url)
        elif is_public:
            assert status in (200, 302, 404, 410), f"{url}: {status}"
        elif rule.endpoint == "home.index":
            assert status == 302
        else:
            assert status in (403, 404), f"a portal user opens {url}: {status}"
    assert len(opened) == 4 + len(ADVISER_ACCOUNT_PAGES)


#: what an adviser opens outside /portal/: their own account (e-mail, password, sessions, second factor)
ADVISER_ACCOUNT_PAGES = ("account.index", "second_factor.account_enrol")


def test_the_portal_menu_shows_no_staff_pages(app, signed_in):
    page = signed_in.get("/portal/").get_data(as_text=True)
    nav = page.split("</header>")[0]
    assert 'href="/portal/refer"' in nav and 'href="/portal/"' in nav and 'href="/account/"' in nav
    for staff_page in ("/institutions", "/notifications", "/reports", "/clients", "/referrals"):
        assert f'href="{staff_page}' not in nav, staff_page


def test_staff_cannot_open_the_portal(app, alpha, staff_a, auditor, operator):
    for user in (staff_a.admin, staff_a.officer, auditor, operator):
        client = app.test_client()
        login(client, user)
        for path in ("/portal/", "/portal/refer", "/portal/consent-form?lang=nl"):
            assert client.get(path).status_code == 403, (user.role, path)


def test_the_portal_form_posts_nothing_for_staff(app, staff_a):
    client = app.test_client()
    login(client, staff_a.officer)
    token = csrf_token(client, "/")
    before = stored()
    assert client.post("/portal/refer", data={**form_data(), "csrf_token": token}).status_code == 403
    assert stored() == before


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/portal/", "/portal/refer", "/portal/consent-form"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")



def test_an_adviser_keeps_their_own_account(mail_app, smtp_server, alpha):
    """An adviser changes their password and sees their sessions on My account, like staff."""
    user = adviser(alpha[0])
    client = mail_app.test_client()
    assert login(client, user).status_code == 302
    before = user.password_hash
    page = client.get("/account/").get_data(as_text=True)
    assert user.email in page and 'id="sessions"' in page and 'id="enable-second-factor"' in page
    weak = post(client, "/account/password", {"current_password": PASSWORD, "password": "password1234",
                                              "confirm": "password1234"}, token_from="/account/")
    assert weak.status_code == 422 and 'value="password1234"' not in weak.get_data(as_text=True)
    db.session.expire_all()
    with all_institutions("test reads the adviser"):
        assert db.session.get(User, user.id).password_hash == before  # the weak one was not written
    new = "copper kettle meadow 58"
    done = post(client, "/account/password", {"current_password": PASSWORD, "password": new, "confirm": new},
                token_from="/account/")
    assert done.status_code == 303
    outbox.deliver_due()
    [message] = smtp_server.wait_for(1)
    assert message["To"] == user.email and "password was changed" in message["Subject"]
    again = mail_app.test_client()
    assert login(again, user, new).status_code == 302
    assert again.get("/account/").status_code == 200
