"""A follow-up answered in French in a real browser, from the link in a real mail (smtp_server)."""
from datetime import date

from core.services import outbox
from tests.conftest import make_staff
from tests.followup_helpers import consent, followup_of, run_chore
from tests.mail_helpers import links_in, text_of
from tests.reports_data import make_loan, person


def test_an_entrepreneur_answers_a_follow_up_in_french_from_the_mail(live_server, page, smtp_server):
    live_server.app.config.update({**smtp_server.settings(), "MICROFIN_BASE_URL": live_server.url})
    staff = make_staff("microstart")
    client = person(staff, first_name="Fatima", email="fatima@example.be", preferred_language="fr")
    make_loan(staff, client, "6000", date(2025, 1, 10))
    consent(staff, client)
    assert run_chore(staff, date(2026, 1, 10)).invited == 1  # the 12-month follow-up
    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    assert message["Subject"].startswith("Comment va votre entreprise ?")
    assert "Bonjour Fatima" in text_of(message)
    [link] = [url for url in links_in(message) if "/followup/" in url]
    page.goto(link)
    assert "Comment va votre entreprise ?" in page.locator("h1").inner_text()
    page.get_by_label("Votre entreprise est-elle toujours active ?").select_option("yes")
    page.get_by_label("Emplois créés en plus de vous-même", exact=False).fill("-1")
    page.get_by_label("Avez-vous obtenu un crédit bancaire depuis votre microcrédit ?").select_option("yes")
    page.get_by_role("button", name="Envoyer mes réponses").click()
    assert "Indiquez un nombre d'emplois de 0 à 1000" in page.locator("#jobs_fte-error").inner_text()
    assert page.get_by_label("Emplois créés en plus de vous-même", exact=False).input_value() == "-1"
    assert followup_of(staff, client, 12).status == "invited"  # nothing stored
    page.get_by_label("Emplois créés en plus de vous-même", exact=False).fill("1,5")
    page.get_by_label("Chiffre d'affaires annuel").select_option("25k_50k")
    page.get_by_label("Si oui : de quel type ?").select_option("investment")
    page.get_by_role("button", name="Envoyer mes réponses").click()
    assert "Merci" in page.locator("h1").inner_text()
    stored = followup_of(staff, client, 12)
    assert (stored.answered_by, str(stored.jobs_fte), stored.revenue_band, stored.bank_credit_kind) == \
        ("entrepreneur", "1.5", "25k_50k", "investment")
    page.goto(link)  # the link works once
    assert "déjà été utilisé" in page.locator("main").inner_text()
