"""API tokens with an optional expiry (issue 14, point 7): set from the CLI or the operator's
referrer page, refused with 401 problem+json once passed; the page shows expiry and last use."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core import clock
from core.cli import main
from core.extensions import db
from core.models.referrals import ApiToken, Referrer
from core.services import referrers
from core.services.errors import ValidationFailed
from tests.conftest import post
from tests.referral_helpers import auth, make_referrer
from tests.test_operator_screens import SECRET_RE, _token_row, op  # noqa: F401 (fixture)

TOMORROW = (clock.today() + timedelta(days=2)).isoformat()


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken))


def test_an_expired_token_answers_401_problem_saying_it_expired(app, client):
    referrer, _ = make_referrer()
    issued = referrers.issue_token_for(referrer, TOMORROW)
    assert client.get("/api/v1/referrals", headers=auth(issued.secret)).status_code == 200
    token = db.session.get(ApiToken, issued.token.id)
    token.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()
    used_before = token.last_used_at

    response = client.get("/api/v1/referrals", headers=auth(issued.secret))
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"].endswith("/token-expired") and body["status"] == 401
    assert "expired" in body["detail"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    db.session.expire_all()
    assert db.session.get(ApiToken, issued.token.id).last_used_at == used_before  # not counted as a use


def test_a_token_without_expiry_keeps_working_and_unknown_tokens_stay_plain_401(app, client):
    _, secret = make_referrer()
    assert client.get("/api/v1/referrals", headers=auth(secret)).status_code == 200
    unknown = client.get("/api/v1/referrals", headers=auth("mfr_unknown"))
    assert unknown.status_code == 401 and unknown.get_json()["type"].endswith("/unauthorized")


@pytest.mark.parametrize("value, message", [
    ("31/12/2030", "Enter a date as YYYY-MM-DD."),
    ("2030-02-30", "Enter a date as YYYY-MM-DD."),
    (clock.today().isoformat(), "Choose a day after today"),
    ("2001-01-01", "Choose a day after today"),
])
def test_bad_expiry_is_refused_by_the_service_and_nothing_written(app, value, message):
    referrer, _ = make_referrer()
    before = _count()
    with pytest.raises(ValidationFailed) as failed:
        referrers.issue_token_for(referrer, value)
    assert message in str(failed.value.errors["expires_on"])
    assert _count() == before


def test_expiry_is_the_start_of_the_day_in_brussels():
    moment = referrers.parse_expiry("2031-07-01")
    assert moment == datetime(2031, 6, 30, 22, 0, tzinfo=timezone.utc)  # summer time: UTC+2
    assert referrers.parse_expiry("2031-01-01") == datetime(2030, 12, 31, 23, 0, tzinfo=timezone.utc)
    assert referrers.parse_expiry("  ") is None


def test_cli_token_with_expiry_and_a_bad_one(app, runner):
    make_referrer(name="PMV", kind="public")
    good = runner.invoke(main, ["referrers", "token", "PMV", "--expires", "2031-07-01"])
    assert good.exit_code == 0, good.output
    assert "expires at 2031-06-30T22:00:00+00:00" in good.output
    before = _count()
    bad = runner.invoke(main, ["referrers", "token", "PMV", "--expires", "next week"])
    assert bad.exit_code == 2 and "--expires" in bad.output and "YYYY-MM-DD" in bad.output
    assert _count() == before
    listing = runner.invoke(main, ["referrers", "list"]).output
    assert "expires 2031-06-30 22:00 UTC" in listing and "last used never" in listing


def test_operator_page_creates_a_token_with_expiry_and_shows_expiry_and_last_use(app, op, client):  # noqa: F811
    referrer, secret = make_referrer(name="Bank Delta")
    client.get("/api/v1/referrals", headers=auth(secret))  # marks the first token used
    page = f"/operator/referrers/{referrer.id}"
    response = post(op, f"{page}/tokens", {"expires_on": "2031-07-01"}, token_from=page)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert 'id="token-expires"' in response.get_data(as_text=True)
    created = db.session.scalar(select(ApiToken).where(ApiToken.referrer_id == referrer.id)
                                .order_by(ApiToken.id.desc()))
    assert created.expires_at == datetime(2031, 6, 30, 22, 0, tzinfo=timezone.utc)

    shown = op.get(page).get_data(as_text=True)
    first = db.session.scalar(select(ApiToken).where(ApiToken.referrer_id == referrer.id).order_by(ApiToken.id))
    first_row, new_row = _token_row(shown, first.id), _token_row(shown, created.id)
    assert 'class="last-used">never' not in first_row and 'class="expires">never' in first_row
    assert "7/1/31" in new_row and 'class="last-used">never' in new_row and "Active" in new_row

    created.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    assert "Expired" in _token_row(op.get(page).get_data(as_text=True), created.id)


@pytest.mark.parametrize("value, message", [
    ("01/07/2031", "Enter a date as YYYY-MM-DD."),
    ("2001-01-01", "Choose a day after today"),
])
def test_operator_page_bad_expiry_shows_the_field_error_and_writes_nothing(app, op, value, message):  # noqa: F811
    referrer, _ = make_referrer(name="Bank Epsilon")
    page = f"/operator/referrers/{referrer.id}"
    before = _count()
    response = post(op, f"{page}/tokens", {"expires_on": value}, token_from=page)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'<small id="expires_on-error" class="field-error">[^<]*' + re.escape(message), html), html
    assert f'value="{value}"' in html  # the typed input is kept
    assert not SECRET_RE.search(html)
    assert _count() == before


def test_the_first_token_can_expire_too_from_the_cli_and_the_operator_page(app, runner, op):  # noqa: F811
    added = runner.invoke(main, ["referrers", "add", "Bank Zeta", "--kind", "bank", "--expires", "2031-07-01"])
    assert added.exit_code == 0, added.output
    assert "expires at 2031-06-30T22:00:00+00:00" in added.output
    [token] = db.session.scalars(select(ApiToken)).all()
    assert token.expires_at == datetime(2031, 6, 30, 22, 0, tzinfo=timezone.utc)
    response = post(op, "/operator/referrers", {"name": "Bank Eta", "kind": "bank", "expires_on": "2031-07-01"},
                    token_from="/operator/referrers")
    assert response.status_code == 201 and SECRET_RE.search(response.get_data(as_text=True))
    assert _count() == 2


@pytest.mark.parametrize("value, message", [
    ("01/07/2031", "Enter a date as YYYY-MM-DD."),
    ("2001-01-01", "Choose a day after today"),
])
def test_a_bad_first_expiry_names_the_field_with_the_others_and_writes_nothing(app, runner, op, value,  # noqa: F811
                                                                               message):
    response = post(op, "/operator/referrers", {"name": "", "kind": "bank", "expires_on": value},
                    token_from="/operator/referrers")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="name-error"' in html  # every wrong field at once
    assert re.search(r'<small id="expires_on-error" class="field-error">[^<]*' + re.escape(message), html), html
    assert f'value="{value}"' in html and not SECRET_RE.search(html)
    cli = runner.invoke(main, ["referrers", "add", "Bank Theta", "--kind", "bank", "--expires", value])
    assert cli.exit_code != 0 and message in cli.output
    assert _count() == 0 and db.session.scalar(select(func.count()).select_from(Referrer)) == 0
