"""The banks' duty to inform (issue 13, point 5): a federation report per referrer of the refused
applicants referred through its API, its portal or its own link and what became of them, without
personal data; and the public guide for bank advisers, built from the plugins' live products."""
from __future__ import annotations

from sqlalchemy import update

from core.extensions import db
from core.models.referrals import Referral
from core.services import plugin_settings
from core.services.institutions import by_slug
from core.tenancy import acting_for, all_institutions
from tests.conftest import post
from tests.referral_helpers import body, make_referrer, send


def _row(page: str, referrer: str) -> str:
    start = page.index(f'data-referrer="{referrer}"')
    return page[start:page.index("</tr>", start)]


def _cell(row: str, attribute: str) -> str:
    start = row.index(attribute)
    return row[row.index(">", start) + 1:row.index("</td>", start)]


def test_the_federation_sees_per_referrer_how_and_what_became_of_them(app, client, auditor, as_user):
    bank, token = make_referrer("Bank Alpha")
    make_referrer("Bank Quiet")
    for n in range(3):
        assert send(client, token, body(external_reference=f"A-{n}", **{"applicant.last_name": f"Applicant{n}"}),
                    key=f"k{n}").status_code == 201
    with all_institutions("test: one came through the bank's link, one through its portal, one was financed"):
        ids = [r.id for r in db.session.scalars(db.select(Referral).where(Referral.referrer_id == bank.id)
                                                .order_by(Referral.id))]
        db.session.execute(update(Referral).where(Referral.id == ids[0]).values(channel="link"))
        db.session.execute(update(Referral).where(Referral.id == ids[1]).values(channel="portal", status="financed"))
        db.session.commit()
    page = as_user(auditor).get("/federation/referrals/duty-to-inform")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    alpha = _row(text, "Bank Alpha")
    assert _cell(alpha, 'class="referred"') == "3"
    assert (_cell(alpha, 'data-channel="api"'), _cell(alpha, 'data-channel="portal"'),
            _cell(alpha, 'data-channel="link"')) == ("1", "1", "1")
    assert _cell(alpha, 'data-outcome="financed"') == "1" and _cell(alpha, 'data-outcome="open"') == "2"
    assert _cell(_row(text, "Bank Quiet"), 'class="referred"') == "0"  # a referrer who referred nobody shows
    assert "Applicant0" not in text and "Sofie" not in text and "sofie@example.be" not in text


def test_only_the_federation_reads_the_duty_to_inform_report(client, staff_a, as_user):
    assert as_user(staff_a.admin).get("/federation/referrals/duty-to-inform").status_code == 403


def test_the_public_guide_shows_each_institutions_products_as_offered_today(app, client, staff_a, as_user):
    guide = client.get("/financing?lang=fr")  # no sign-in
    assert guide.status_code == 200
    text = guide.get_data(as_text=True)
    assert 'lang="fr"' in text and "guide pour les conseillers" in text.lower()
    for slug in ("microstart", "credal", "hefboom", "brusoc"):
        assert f'id="institution-{slug}"' in text
    with acting_for(by_slug("microstart").id):
        jump = next(p for p in plugin_settings.products() if p.code == "jump")
    assert jump.name("fr") in text
    assert "12,13\u00a0%" in _product_row(text, "jump")  # microStart's Jump at its default rate, the French way
    from tests.test_prepayment_service import MICROSTART

    with acting_for(by_slug("microstart").id):  # the admin changes the rate: the guide says so at once
        plugin_settings.save({**MICROSTART, "jump_rate": "10.5"})
    dutch = client.get("/financing?lang=nl").get_data(as_text=True)
    assert 'lang="nl"' in dutch and jump.name("nl") in dutch and "10,5%" in _product_row(dutch, "jump")
    assert "Peeters" not in dutch


def _product_row(page: str, code: str) -> str:
    start = page.index(f'data-product="{code}"')
    return page[start:page.index("</tr>", start)]


def test_the_guide_speaks_german_for_the_german_speaking_community(client, app):
    text = client.get("/financing?lang=de").get_data(as_text=True)
    assert 'lang="de"' in text and "Leitfaden für Bankberater" in text and "Jahreszins" in text
