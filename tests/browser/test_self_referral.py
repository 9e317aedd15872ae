"""A refused entrepreneur self-refers in French through a bank's link, confirms the address from
the mail (a real SMTP server), and the bank sees the referral through its API."""
import json
import urllib.request
from datetime import timedelta

from core import clock
from core.services import outbox, self_referrals
from tests.mail_helpers import links_in
from tests.referral_helpers import make_referrer


def _bank_api(live_server, token, path):
    request = urllib.request.Request(f"{live_server.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def test_self_referral_in_french_through_a_banks_link(live_server, page, smtp_server):
    live_server.app.config.update({**smtp_server.settings(), "MICROFIN_BASE_URL": live_server.url})
    bank, token = make_referrer("Banque Exemple")
    link = self_referrals.link_url(bank, "fr")  # what `microfin referrers link` prints

    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Vous venez par le lien de Banque Exemple" in page.locator("main").inner_text()
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom", exact=True).fill("Dubois")
    page.get_by_label("Date de naissance").fill("1988-03-14")
    page.get_by_label("Adresse e-mail").fill("camille@example.be")
    page.get_by_label("Code postal").fill("5000")
    page.get_by_label("Montant dont vous avez besoin (EUR)").fill("8.000,00")
    page.locator("select#sector").select_option("horeca")
    page.locator("select#stage").select_option("starter")
    page.get_by_label("À quoi servira l'argent").fill("Matériel de cuisine pour un petit restaurant")
    page.get_by_label("Date du refus de la banque").fill((clock.today() - timedelta(days=3)).isoformat())
    page.get_by_label("pas assez de garanties").check()
    # Forgot the consent: the form says so, in French, and keeps what was typed.
    page.get_by_role("button", name="Envoyer ma demande").click()
    assert "Sans votre consentement" in page.locator("#self-referral").inner_text()
    assert page.get_by_label("Prénom").input_value() == "Camille"
    assert page.get_by_label("pas assez de garanties").is_checked()
    page.get_by_label("J'accepte que le registre").check()
    page.get_by_role("button", name="Envoyer ma demande").click()
    assert "Nous vous avons envoyé un e-mail" in page.locator("main").inner_text()

    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Confirmez votre demande de microcrédit"
    [confirm] = [url for url in links_in(message) if "/refer/confirm/" in url]
    assert _bank_api(live_server, token, "/referrals")["items"] == []  # nothing before the confirmation
    page.goto(confirm)
    page.get_by_role("button", name="Confirmer et envoyer ma demande").click()
    assert "Votre demande a été transmise à" in page.locator("main").inner_text()

    [seen] = _bank_api(live_server, token, "/referrals")["items"]
    assert seen["status"] == "offered" and seen["institution"] is not None
    assert _bank_api(live_server, token, f"/referrals/{seen['id']}")["external_reference"].startswith("link-")
