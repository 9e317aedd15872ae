"""Self-referral (issue 13, point 4): /refer and a referrer's /refer/<code>, the mailed confirmation
link, the throttles, and the referrer following what came through its link."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from core import clock
from core.cli import main
from core.extensions import db
from core.models import OutboxMail, Referral, Referrer, SelfReferralRequest
from core.models.types import utcnow
from core.services import outbox, self_referrals
from tests.conftest import CSRF_RE
from tests.mail_helpers import links_in, text_of
from tests.referral_helpers import auth, make_referrer


def form_data(**changes) -> dict:
    """A complete self-referral form as a French-speaking entrepreneur fills it in."""
    data = {
        "first_name": "Camille", "last_name": "Dubois", "birth_date": "1988-03-14",
        "email": "camille@example.be", "phone": "+32 470 11 22 33", "postal_code": "5000", "language": "fr",
        "amount_requested": "8.000,00", "sector": "horeca", "stage": "starter",
        "purpose": "Matériel de cuisine pour un petit restaurant", "purpose_category": "investment",
        "refused_on": (clock.today() - timedelta(days=3)).isoformat(),
        "refusal_reasons": ["insufficient_collateral", "no_track_record"], "consent": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def send_form(client, path="/refer?lang=fr", **changes):
    page = client.get(path).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return client.post(path, data={**form_data(**changes), "csrf_token": token})


def stored() -> tuple[int, int, int]:
    """(pending requests, mails, referrals) in the database."""
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return count(SelfReferralRequest), count(OutboxMail), count(Referral)


def confirm_link(smtp_server, index=0) -> str:
    assert outbox.deliver_due() >= 1
    message = smtp_server.wait_for(index + 1)[index]
    [link] = [url for url in links_in(message) if "/refer/confirm/" in url]
    return link


def press_confirm(client, path):
    page = client.get(path)
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": token})


def local(link: str) -> str:
    return link.replace("http://crm.microfin.test", "")


# --- the pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "title"), [("nl", "Een microkrediet aanvragen"), ("fr", "Demander un microcrédit"),
                                             ("en", "Ask for a microcredit"), ("de", "Einen Mikrokredit beantragen")])
def test_the_form_speaks_four_languages_without_sign_in(client, lang, title):
    page = client.get(f"/refer?lang={lang}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f'<html lang="{lang}">' in text and title in text
    assert f'<option selected value="{lang}">' in text  # the contact language follows the page


def test_a_german_browser_gets_the_german_form(client):
    text = client.get("/refer", headers={"Accept-Language": "de-BE,de;q=0.9"}).get_data(as_text=True)
    assert '<html lang="de">' in text and "Meine Anfrage senden" in text


def test_form_errors_name_each_field_keep_what_was_typed_and_store_nothing(client):
    response = send_form(client, first_name="", postal_code="12", birth_date="2015-01-01", email="camille@",
                         amount_requested="12,345", refusal_reasons=[], consent=None, purpose="Une épicerie bio")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = dict(re.findall(r'<small id="([a-z_]+)-error" class="field-error">([^<]+)</small>', text))
    assert errors["first_name"] == "Remplissez ce champ."
    assert errors["postal_code"] == "Indiquez un code postal belge (4 chiffres)."
    assert errors["birth_date"] == "Vous devez avoir entre 18 et 100 ans."
    assert errors["email"] == "Indiquez une adresse e-mail valide."
    assert errors["consent"] == "Sans votre consentement, nous ne pouvons pas transmettre votre demande."
    assert errors["amount_requested"].startswith("Un montant a au plus deux décimales")
    # what was typed stays
    assert 'value="12"' in text and 'value="camille@"' in text and 'value="12,345"' in text
    assert "Une épicerie bio</textarea>" in text
    assert stored() == (0, 0, 0)


def test_a_bad_email_and_phone_are_refused_on_their_fields(client):
    response = send_form(client, email="jean@@example", phone="abc")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = dict(re.findall(r'<small id="([a-z_]+)-error" class="field-error">([^<]+)</small>', text))
    assert errors["email"] == "Indiquez une adresse e-mail valide."
    assert errors["phone"].startswith("Indiquez un numéro de téléphone valide")
    assert 'value="jean@@example"' in text and 'value="abc"' in text
    assert stored() == (0, 0, 0)


def test_rules_the_form_shares_with_the_api(client):
    response = send_form(client, amount_requested="0", refusal_reasons=[], national_number="12345",
                         refused_on=(clock.today() + timedelta(days=2)).isoformat(), term_months="400")
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    for message in ("Indiquez un montant supérieur à zéro et d'au plus un million d'euros.",
                    "Choisissez au moins une raison.", "Ce n'est pas un numéro de registre national belge valide.",
                    "Cette date ne peut pas être dans le futur.", "Indiquez une durée de 1 à 360 mois."):
        assert message in text
    assert stored() == (0, 0, 0)


def test_a_filled_honeypot_gets_the_thank_you_page_and_stores_nothing(client):
    response = send_form(client, website="http://spam.example")
    assert response.status_code == 200 and "Nous vous avons envoyé un e-mail" in response.get_data(as_text=True)
    assert stored() == (0, 0, 0)


def test_the_honeypot_is_hidden_from_people(client):
    text = client.get("/refer").get_data(as_text=True)
    assert '<div class="refer-hp" aria-hidden="true">' in text and 'tabindex="-1"' in text


def test_three_requests_an_hour_per_address_then_nothing_more(client):
    for _ in range(3):
        assert send_form(client).status_code == 200
    fourth = send_form(client, email="CAMILLE@example.be")
    assert fourth.status_code == 200 and "Nous vous avons envoyé un e-mail" in fourth.get_data(as_text=True)
    assert stored() == (3, 3, 0)
    assert send_form(client, email="autre@example.be").status_code == 200  # another address is not held back
    assert stored() == (4, 4, 0)


def test_requests_from_one_client_address_are_limited(make_app):
    app = make_app(MICROFIN_SELF_REFERRAL_RATE_LIMIT="2/hour")
    client = app.test_client()
    with app.app_context():
        assert send_form(client, email="a@example.be").status_code == 200
        assert send_form(client, email="b@example.be").status_code == 200
        assert send_form(client, email="c@example.be").status_code == 429
        assert client.get("/refer").status_code == 200  # reading the form is not limited
        assert stored()[0] == 2


# --- confirming ----------------------------------------------------------------------------------

def test_nothing_enters_the_registry_before_the_address_is_confirmed(mail_app, smtp_server, staff_a):
    client = mail_app.test_client()
    assert send_form(client).status_code == 200
    link = confirm_link(smtp_server)
    [message] = smtp_server.messages
    assert message["Subject"] == "Confirmez votre demande de microcrédit" and message["To"] == "camille@example.be"
    assert "Bonjour Camille," in text_of(message) and "?lang=fr" in link
    assert stored() == (1, 1, 0)
    # opening the link (as a mail scanner would, twice) only shows the button
    for _ in range(2):
        page = client.get(local(link))
        assert page.status_code == 200 and "Confirmer et envoyer ma demande" in page.get_data(as_text=True)
    assert stored()[2] == 0

    done = press_confirm(client, local(link))
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Votre demande a été transmise à" in text
    referral = db.session.scalars(select(Referral)).one()
    assert referral.channel == "self" and referral.status == "offered"
    assert db.session.get(Referrer, referral.referrer_id).kind == "self"
    assert referral.applicant_email == "camille@example.be" and referral.language == "fr"
    assert referral.consent_method == "electronic" and referral.consent_scope == ["share_with_mfi", "contact"]
    assert referral.amount_requested == 8000 and referral.refusal_reasons == ["insufficient_collateral",
                                                                               "no_track_record"]
    pending = db.session.scalars(select(SelfReferralRequest)).one()
    assert pending.confirmed_at is not None and pending.referral_id == referral.id and pending.payload == {}


def test_a_link_works_once(mail_app, smtp_server):
    client = mail_app.test_client()
    send_form(client)
    link = local(confirm_link(smtp_server))
    assert press_confirm(client, link).status_code == 200
    again = client.get(link)
    assert again.status_code == 410 and "Ce lien a déjà été utilisé" in again.get_data(as_text=True)
    token = CSRF_RE.search(client.get("/refer").get_data(as_text=True)).group(1)
    assert client.post(link, data={"csrf_token": token}).status_code == 410
    assert stored()[2] == 1


def test_an_expired_link_says_so_and_creates_nothing(mail_app, smtp_server):
    client = mail_app.test_client()
    send_form(client)
    link = local(confirm_link(smtp_server))
    db.session.execute(update(SelfReferralRequest).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    page = client.get(link)
    assert page.status_code == 410 and "Ce lien a expiré" in page.get_data(as_text=True)
    token = CSRF_RE.search(client.get("/refer").get_data(as_text=True)).group(1)
    assert client.post(link, data={"csrf_token": token}).status_code == 410
    assert stored()[2] == 0


def test_a_guessed_link_is_not_found(client):
    assert client.get("/refer/confirm/guessed-token?lang=en").status_code == 404
    assert client.get("/refer/nosuchcode").status_code == 404


def test_a_german_request_gets_a_german_mail(mail_app, smtp_server):
    client = mail_app.test_client()
    send_form(client, path="/refer?lang=de", amount_requested="8.000,00", language="de")
    confirm_link(smtp_server)
    [message] = smtp_server.messages
    assert message["Subject"] == "Bestätigen Sie Ihre Mikrokreditanfrage"
    assert db.session.scalars(select(OutboxMail.locale)).one() == "de"
    assert "Hallo Camille," in text_of(message) and "Diese Nachricht wurde von Microfin CRM" in text_of(message)


def test_stale_requests_are_purged(app):
    self_referrals.ask(form_data(amount_requested=8000, birth_date=date(1988, 3, 14),
                                 refused_on=clock.today() - timedelta(days=3)), language="fr")
    assert self_referrals.purge_stale() == 0
    db.session.execute(update(SelfReferralRequest).values(expires_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    assert self_referrals.purge_stale() == 1 and stored()[0] == 0


# --- a referrer's own link ---------------------------------------------------------------------

def test_a_self_referral_through_a_banks_link_counts_for_the_bank(mail_app, smtp_server, runner):
    bank, token = make_referrer("Banque Exemple")
    other, other_token = make_referrer("Other Bank")
    printed = runner.invoke(main, ["referrers", "link", "Banque Exemple", "--lang", "fr"])
    assert printed.exit_code == 0, printed.output
    url = printed.output.strip()
    assert re.fullmatch(r"http://crm\.microfin\.test/refer/[a-z2-9]{10}\?lang=fr", url)
    client = mail_app.test_client()
    page = client.get(local(url)).get_data(as_text=True)
    assert "Vous venez par le lien de Banque Exemple" in page
    assert send_form(client, path=local(url)).status_code == 200
    link = confirm_link(smtp_server)
    assert "Banque Exemple" in text_of(smtp_server.messages[0])
    assert press_confirm(client, local(link)).status_code == 200

    referral = db.session.scalars(select(Referral)).one()
    assert referral.referrer_id == bank.id and referral.channel == "link"
    api = mail_app.test_client()
    listing = api.get("/api/v1/referrals", headers=auth(token)).get_json()
    assert [item["id"] for item in listing["items"]] == [referral.id]
    assert listing["items"][0]["status"] == "offered"
    assert api.get(f"/api/v1/referrals/{referral.id}", headers=auth(token)).status_code == 200
    # another referrer sees nothing of it
    assert api.get("/api/v1/referrals", headers=auth(other_token)).get_json()["items"] == []
    assert api.get(f"/api/v1/referrals/{referral.id}", headers=auth(other_token)).status_code == 404


def test_the_link_and_its_qr_code(app, runner, tmp_path):
    make_referrer("Banque Exemple")
    first = runner.invoke(main, ["referrers", "link", "Banque Exemple", "--qr", str(tmp_path / "link.svg")])
    assert first.exit_code == 0, first.output
    url = first.output.splitlines()[0]
    assert url.startswith("http://localhost:5000/refer/")
    assert (tmp_path / "link.svg").read_bytes().startswith(b"<svg")
    second = runner.invoke(main, ["referrers", "link", "Banque Exemple", "--qr", str(tmp_path / "link.png")])
    assert second.output.splitlines()[0] == url  # the code is kept: letters already printed stay valid
    assert (tmp_path / "link.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    wrong = runner.invoke(main, ["referrers", "link", "Banque Exemple", "--qr", str(tmp_path / "link.jpg")])
    assert wrong.exit_code != 0 and ".svg or .png" in wrong.output and not (tmp_path / "link.jpg").exists()
    assert runner.invoke(main, ["referrers", "link", "Nobody"]).exit_code != 0


def test_an_inactive_referrers_link_is_not_found(app, client):
    bank, _ = make_referrer("Banque Exemple")
    code = self_referrals.ensure_link_code(bank)
    bank.active = False
    db.session.commit()
    assert client.get(f"/refer/{code}").status_code == 404


def test_the_built_in_referrer_is_never_an_operators_namesake(app):
    bank, _ = make_referrer("Self-referral")
    built_in = self_referrals.self_referrer()
    assert built_in.id != bank.id and built_in.kind == "self" and built_in.name == "Self-referral (built-in)"
    assert self_referrals.self_referrer().id == built_in.id
