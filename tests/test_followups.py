"""Follow-ups: due dates and consent, the personal link by a real mail, one use, expiry, forgery,
field errors, reminders, the coach's recording, response rates and plugin questions."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from core.extensions import db
from core.models.followups import Followup
from core.models.mail import OutboxMail
from core.models.types import utcnow
from core.plugin_api import ClientField, hookimpl, texts
from core.services import followups, outbox
from core.tenancy import acting_for
from tests.conftest import csrf_token, post
from tests.followup_helpers import (answers, consent, followup_of, record, run_chore, tokens_mailed,
                                    withdraw)
from tests.mail_helpers import links_in, text_of
from tests.reports_data import make_loan, person

FIRST = date(2025, 1, 10)
AT_6 = date(2025, 7, 10)


@pytest.fixture
def invited(app, staff_a):
    """A consenting French-speaking client of microStart, invited at 6 months."""
    client = person(staff_a, first_name="Amina", email="amina@example.be", preferred_language="fr")
    make_loan(staff_a, client, "5000", FIRST)
    given = consent(staff_a, client)
    result = run_chore(staff_a, AT_6)
    assert (result.created, result.invited) == (1, 1)
    return client, given, tokens_mailed()[-1]


def _stored(staff, client):
    with acting_for(staff.institution_id):
        return db.session.scalars(select(Followup).where(Followup.client_id == client.id)).all()


def _form(web, token, data):
    return web.post(f"/followup/{token}", data={**data, "csrf_token": csrf_token(web, f"/followup/{token}")})


def test_the_chore_creates_follow_ups_when_due_and_mails_a_link_in_the_clients_language(mail_app, smtp_server,
                                                                                       staff_a):
    client = person(staff_a, first_name="Amina", email="amina@example.be", preferred_language="fr")
    make_loan(staff_a, client, "5000", FIRST)
    nobody = person(staff_a, first_name="Nocon", email="nocon@example.be")  # no consent: never asked
    make_loan(staff_a, nobody, "5000", FIRST)
    consent(staff_a, client)
    assert run_chore(staff_a, AT_6 - timedelta(days=1)).created == 0  # not yet due
    assert str(run_chore(staff_a, AT_6)) == "1 follow-up(s) due, 1 invitation(s), 0 reminder(s)"
    assert str(run_chore(staff_a, AT_6)) == "0 follow-up(s) due, 0 invitation(s), 0 reminder(s)"  # once
    outbox.deliver_due()
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "amina@example.be"
    assert "Bonjour Amina" in text_of(mail) and "6 mois" in text_of(mail)
    (link,) = [url for url in links_in(mail) if "/followup/" in url]
    assert link.startswith("http://crm.microfin.test/followup/")
    assert followup_of(staff_a, client, 6).status == "invited"
    assert _stored(staff_a, nobody) == []


def test_the_intervals_are_the_institutions_setting(app, staff_a):
    with acting_for(staff_a.institution_id):
        from core.services import plugin_settings

        assert followups.intervals() == (6, 12, 24, 36)
        plugin_settings.save({**_current_settings(), "followup_months": "12,24,36"})
        db.session.commit()
        assert followups.intervals() == (12, 24, 36)
    client = person(staff_a)
    make_loan(staff_a, client, "5000", FIRST)
    consent(staff_a, client)
    assert run_chore(staff_a, AT_6).created == 0  # 6 months is no longer asked
    assert run_chore(staff_a, date(2026, 1, 10)).created == 1


def _current_settings():
    from core.services import plugin_settings

    return {setting.key: setting.to_json(value) if not isinstance(value, bool) else ("on" if value else "")
            for setting in plugin_settings.declared()
            for value in [plugin_settings.effective()[setting.key]]}


def test_the_entrepreneur_answers_in_french_once(invited, staff_a, app):
    client, _, token = invited
    web = app.test_client()
    page = web.get(f"/followup/{token}").get_data(as_text=True)
    assert "Votre entreprise est-elle toujours active" in page and "Envoyer mes réponses" in page
    response = _form(web, token, answers(fte="1,5", credit=True))
    assert response.status_code == 200 and 'id="followup-thanks"' in response.get_data(as_text=True)
    stored = followup_of(staff_a, client, 6)
    assert (stored.status, stored.answered_by, stored.active, stored.jobs_fte, stored.bank_credit_kind) == \
        ("answered", "entrepreneur", True, Decimal("1.5"), "investment")
    again = web.get(f"/followup/{token}")  # used twice: a clear page, nothing stored
    assert again.status_code == 410 and 'data-reason="used"' in again.get_data(as_text=True)
    posted = _form_raw(web, token, answers(active=False))
    assert posted.status_code == 410
    assert followup_of(staff_a, client, 6).active is True


def _form_raw(web, token, data):
    """POST with a valid CSRF token taken from another page (the link's own page refuses)."""
    return web.post(f"/followup/{token}", data={**data, "csrf_token": csrf_token(web, "/login")})


def test_an_expired_link_is_a_clear_page_and_stores_nothing(invited, staff_a, app):
    client, _, token = invited
    with acting_for(staff_a.institution_id):
        followup = db.session.scalar(select(Followup).where(Followup.client_id == client.id))
        followup.token_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    web = app.test_client()
    response = web.get(f"/followup/{token}")
    assert response.status_code == 410 and 'data-reason="expired"' in response.get_data(as_text=True)
    assert _form_raw(web, token, answers()).status_code == 410
    assert followup_of(staff_a, client, 6).status == "invited"


def test_a_forged_link_is_a_clear_page_and_stores_nothing(invited, staff_a, app):
    client, _, token = invited
    web = app.test_client()
    for forged in (token[:-2] + "xx", "guessed"):
        response = web.get(f"/followup/{forged}")
        assert response.status_code == 404 and 'data-reason="invalid"' in response.get_data(as_text=True)
        assert _form_raw(web, forged, answers()).status_code == 404
    assert followup_of(staff_a, client, 6).status == "invited"


def test_negative_jobs_or_an_unknown_revenue_band_is_the_fields_error_and_keeps_what_was_typed(invited, staff_a,
                                                                                             app):
    client, _, token = invited
    web = app.test_client()
    response = _form(web, token, answers(fte="-2", revenue_band="millions"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="jobs_fte-error"' in page and 'value="-2"' in page
    assert 'id="revenue_band-error"' in page
    assert 'id="active-error"' not in page and '<option selected value="yes">' in page
    assert followup_of(staff_a, client, 6).status == "invited"
    assert followup_of(staff_a, client, 6).answered_at is None


def test_stopped_needs_why_and_the_situation(invited, app):
    _, _, token = invited
    web = app.test_client()
    page = _form(web, token, answers(active=False, stopped_reason="", situation="")).get_data(as_text=True)
    assert 'id="stopped_reason-error"' in page and 'id="situation-error"' in page


def test_a_withdrawn_consent_stops_mails_and_links(invited, staff_a, app):
    client, given, token = invited
    withdraw(staff_a, client, given)
    web = app.test_client()
    assert web.get(f"/followup/{token}").status_code == 404
    with acting_for(staff_a.institution_id):
        followup = followup_of(staff_a, client, 6)
    with acting_for(staff_a.institution_id):
        db.session.merge(followup).invited_at = utcnow() - timedelta(days=30)
        db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(OutboxMail))
    assert run_chore(staff_a, AT_6 + timedelta(days=30)).reminded == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == before


def test_reminders_bring_a_fresh_link_and_stop_after_two(invited, staff_a, app):
    client, _, first_token = invited
    for n in (1, 2, 3):
        with acting_for(staff_a.institution_id):
            followup = db.session.scalar(select(Followup).where(Followup.client_id == client.id))
            if followup.reminded_at:
                followup.reminded_at -= timedelta(days=11)
            else:
                followup.invited_at -= timedelta(days=11)
            db.session.commit()
        assert run_chore(staff_a, AT_6 + timedelta(days=11 * n)).reminded == (1 if n < 3 else 0)
    tokens = tokens_mailed()
    assert len(tokens) == 3 and len(set(tokens)) == 3
    web = app.test_client()
    assert web.get(f"/followup/{first_token}").status_code == 404  # replaced by the reminder's
    assert web.get(f"/followup/{tokens[-1]}").status_code == 200


def test_the_coach_records_answers_on_the_clients_page(invited, staff_a, as_user):
    client, _, token = invited
    web = as_user(staff_a.coach)
    listing = web.get(f"/clients/{client.id}/followups").get_data(as_text=True)
    followup = followup_of(staff_a, client, 6)
    url = f"/clients/{client.id}/followups/{followup.id}"
    assert url in listing
    bad = post(web, url, answers(fte="-1"), token_from=url)
    assert bad.status_code == 422 and 'id="jobs_fte-error"' in bad.get_data(as_text=True)
    assert followup_of(staff_a, client, 6).status == "invited"
    good = post(web, url, answers(fte="2"), token_from=url)
    assert good.status_code == 302
    stored = followup_of(staff_a, client, 6)
    assert (stored.answered_by, stored.recorded_by_id, str(stored.jobs_fte)) == ("coach", staff_a.coach.id, "2")
    assert app_client_status(token) == 410  # the link is used once the coach recorded the answers
    again = web.get(url).get_data(as_text=True)  # correcting: the recorded answers are shown
    assert 'value="2"' in again and '<option selected value="yes">' in again


def app_client_status(token):
    from flask import current_app

    return current_app.test_client().get(f"/followup/{token}").status_code


def test_response_rates_are_visible_to_the_institution(invited, staff_a, staff_b, as_user):
    client, _, _ = invited
    record(staff_a, client, 6, answers())
    other = person(staff_a, last_name="Second")
    make_loan(staff_a, other, "5000", FIRST)
    consent(staff_a, other)
    run_chore(staff_a, AT_6)
    assert followups_rates(staff_a) == [{"months": 6, "due": 2, "invited": 2, "answered": 1, "by_link": 0,
                                         "by_coach": 1, "imported": 0, "rate": "0.50",
                                         "percent": "50%"}]
    page = as_user(staff_a.admin).get("/followups").get_data(as_text=True)
    assert 'id="followup-rates"' in page and "50%" in page


def followups_rates(staff):
    with acting_for(staff.institution_id):
        return followups.response_rates()


def test_hook_followup_questions_adds_questions_of_the_owning_plugin(make_app, staff_a):
    class Questions:
        @hookimpl
        def followup_questions(self, institution):
            return [ClientField("premises", "choice", texts("Premises", "Pand", "Local"), choices=("", "own", "rented")),
                    ClientField("active", "bool", texts("Clash", "Clash", "Clash"))]  # core key: ignored

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("questions", Questions())])
    with app.app_context():
        from core.plugins import state
        from core.services import followup_questions

        state(app).owners["microstart"] = "questions"
        keys = [q.key for q in followup_questions.questions("microstart")]
        assert keys[-1] == "premises" and keys.count("active") == 1
        assert "premises" not in [q.key for q in followup_questions.questions("hefboom")]
        assert followup_questions.version("microstart").startswith("core-1+")
        parsed = followup_questions.parse_answers({**answers(), "premises": "rented"},
                                                  followup_questions.questions("microstart"))
        assert parsed["extra"] == {"premises": "rented"}
        with pytest.raises(Exception):
            followup_questions.parse_answers({**answers(), "premises": "castle"},
                                             followup_questions.questions("microstart"))


def test_the_coach_cannot_record_for_a_client_who_withdrew_the_consent(invited, staff_a, as_user):
    client, given, _ = invited
    withdraw(staff_a, client, given)
    web = as_user(staff_a.coach)
    listing = web.get(f"/clients/{client.id}/followups").get_data(as_text=True)
    assert 'id="followups-no-consent"' in listing
    url = f"/clients/{client.id}/followups/{followup_of(staff_a, client, 6).id}"
    response = post(web, url, answers(), token_from=url)
    assert response.status_code == 422 and "withdrew the consent" in response.get_data(as_text=True)
    assert followup_of(staff_a, client, 6).status == "invited"


def _after_ten():
    """Noon today in Brussels: a daily chore's hour has passed, whatever the hour the tests run."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from core.services import chores

    return datetime.combine(chores.today(), time(12, 0), ZoneInfo("Europe/Brussels"))


def test_the_daily_chore_runs_for_every_institution(invited, staff_b):
    from core.services import chores

    (chore,) = [c for c in chores.CHORES if c.name == "followups"]
    other = person(staff_b, last_name="Hef")
    make_loan(staff_b, other, "1000", chores.today() - relativedelta(months=6))  # due today
    consent(staff_b, other)
    (run,) = chores.run_due(_after_ten(), chores=[chore])  # it runs at 10:00, Brussels time
    assert run.ok and run.result.startswith("1 follow-up(s) due, 1 invitation(s)"), run.result
