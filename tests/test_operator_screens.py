"""The operator's screens under /operator/ (issue 13, point 6), over real HTTP.

Institutions are disabled and enabled again, referrer organisations created, their tokens issued
and revoked, their webhook set, tested against a real HTTP server and removed; every action
leaves an audit entry.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import AuditEntry, Institution, User
from core.models.referrals import ApiToken, OutboxMessage, Referrer
from core.services import institutions, webhooks
from core.services.institutions import by_slug, sync_institutions
from core.tenancy import all_institutions
from tests.conftest import csrf_token, login, post
from tests.referral_helpers import auth, make_referrer
from tests.test_webhooks import Receiver

SECRET_RE = re.compile(r'<code id="new-secret">([^<]+)</code>')


@pytest.fixture
def op(operator, as_user):
    return as_user(operator)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _audit(record_type: str, action: str, record_id: int | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.record_type == record_type, AuditEntry.action == action)
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    with all_institutions("test: read the operator's audit entries"):
        return list(db.session.scalars(query))


def _secret(response) -> str:
    match = SECRET_RE.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def _token_row(page: str, token_id: int) -> str:
    match = re.search(rf'<tr id="token-{token_id}".*?</tr>', page, re.S)
    assert match, page
    return match.group(0)


def _count(model) -> int:
    with all_institutions("test: count rows"):
        return len(db.session.scalars(select(model)).all())


def _operator_entries() -> int:
    """Audit entries of what the screens change (sign-ins are audited too, and not counted)."""
    with all_institutions("test: count audit entries"):
        return len(db.session.scalars(select(AuditEntry).where(
            AuditEntry.record_type.in_(("institutions", "referrers", "referrer_tokens")))).all())


# --- institutions -------------------------------------------------------------------------------

def test_operator_disables_and_enables_an_institution_and_nothing_is_deleted(app, op, operator, staff_a):
    institution = by_slug("microstart")
    page = op.get("/operator/institutions").get_data(as_text=True)
    assert 'id="institution-microstart" data-enabled="yes"' in page

    confirm = op.get(f"/operator/institutions/{institution.id}/disable")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "can no longer sign in" in text and "Nothing is deleted" in text
    db.session.expire_all()
    assert by_slug("microstart").enabled  # the confirmation page changes nothing

    staff_client = app.test_client()
    assert login(staff_client, staff_a.officer).status_code == 302
    response = post(op, f"/operator/institutions/{institution.id}/disable",
                    token_from=f"/operator/institutions/{institution.id}/disable")
    assert response.status_code == 302
    db.session.expire_all()
    row = by_slug("microstart")
    assert not row.enabled and row.operator_disabled_at is not None
    assert 'data-enabled="no"' in op.get("/operator/institutions").get_data(as_text=True)
    # its signed-in staff are signed out, and nobody of it can sign in; its users are still there
    assert staff_client.get("/clients").status_code == 302
    assert login(app.test_client(), staff_a.admin).status_code != 302
    with all_institutions("test"):
        assert db.session.scalar(select(User).where(User.id == staff_a.admin.id)) is not None
    # `microfin db upgrade` syncs institutions with the plugins: the operator's choice stays
    sync_institutions()
    db.session.expire_all()
    assert not by_slug("microstart").enabled
    assert "microstart" not in [r.slug for r in institutions.enabled_institutions()]
    disabled = _audit("institutions", "disable", institution.id)
    assert len(disabled) == 1 and disabled[0].actor == operator.email
    assert disabled[0].changes["enabled"] == [True, False]

    response = post(op, f"/operator/institutions/{institution.id}/enable",
                    token_from=f"/operator/institutions/{institution.id}/enable")
    assert response.status_code == 302
    db.session.expire_all()
    assert by_slug("microstart").enabled and by_slug("microstart").operator_disabled_at is None
    assert login(app.test_client(), staff_a.admin).status_code == 302
    assert len(_audit("institutions", "enable", institution.id)) == 1


def test_an_institution_post_without_csrf_changes_nothing(app, op):
    institution = by_slug("hefboom")
    response = op.post(f"/operator/institutions/{institution.id}/disable", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert by_slug("hefboom").enabled and not _audit("institutions", "disable")


def test_an_unknown_institution_is_404(app, op):
    assert op.get("/operator/institutions/999999/disable").status_code == 404


# --- referrer organisations -----------------------------------------------------------------------

def test_bad_referrer_input_is_shown_next_to_the_field_and_writes_nothing(app, op):
    make_referrer(name="Bank Alpha")
    before = (_count(Referrer), _count(ApiToken), _count(AuditEntry))
    for data, field, message in [
        ({"name": "  ", "kind": "bank"}, "name", "Enter the organisation"),
        ({"name": "Bank Alpha", "kind": "bank"}, "name", "already exists"),
        ({"name": "Bank Beta", "kind": ""}, "kind", "Choose bank or public"),
    ]:
        response = post(op, "/operator/referrers", data, token_from="/operator/referrers")
        page = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert f'id="{field}-error"' in page and message in page
        if data["name"].strip():
            assert f'value="{data["name"]}"' in page  # what was typed stays
    assert (_count(Referrer), _count(ApiToken), _count(AuditEntry)) == before


def test_a_token_created_on_the_screen_authenticates_and_revoked_answers_401(app, op, operator, client):
    response = post(op, "/operator/referrers", {"name": "Bank Gamma", "kind": "bank"},
                    token_from="/operator/referrers")
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    first = _secret(response)
    referrer = db.session.scalar(select(Referrer).where(Referrer.name == "Bank Gamma"))
    assert len(_audit("referrers", "create", referrer.id)) == 1

    page = f"/operator/referrers/{referrer.id}"
    response = post(op, f"{page}/tokens", token_from=page)
    assert response.status_code == 201
    second = _secret(response)
    assert second != first and first not in response.get_data(as_text=True)
    listing = op.get(page).get_data(as_text=True)
    assert second not in listing and first not in listing  # shown once only
    token = db.session.scalar(select(ApiToken).where(ApiToken.hint == second[:10]))
    created = _audit("referrer_tokens", "create", token.id)
    assert len(created) == 1 and created[0].actor == operator.email
    assert created[0].changes["token_hash"] == "(secret)"

    assert 'class="last-used">never<' in _token_row(listing, token.id)
    assert client.get("/api/v1/referrals", headers=auth(second)).status_code == 200
    listing = op.get(page).get_data(as_text=True)
    assert 'class="last-used">never<' not in _token_row(listing, token.id)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None

    confirm = op.get(f"{page}/tokens/{token.id}/revoke")
    assert confirm.status_code == 200 and "401" in confirm.get_data(as_text=True)
    assert client.get("/api/v1/referrals", headers=auth(second)).status_code == 200  # not yet revoked
    response = post(op, f"{page}/tokens/{token.id}/revoke", token_from=f"{page}/tokens/{token.id}/revoke")
    assert response.status_code == 302
    assert client.get("/api/v1/referrals", headers=auth(second)).status_code == 401
    assert client.get("/api/v1/referrals", headers=auth(first)).status_code == 200  # the other stays
    revoked = _audit("referrer_tokens", "update", token.id)
    assert len(revoked) == 1 and "revoked_at" in revoked[0].changes
    assert "Revoked on" in _token_row(op.get(page).get_data(as_text=True), token.id)


def test_a_token_of_another_referrer_is_404(app, op):
    alpha, _ = make_referrer(name="Bank Alpha")
    beta, _ = make_referrer(name="Bank Beta")
    token = beta.tokens[0]
    response = post(op, f"/operator/referrers/{alpha.id}/tokens/{token.id}/revoke",
                    token_from=f"/operator/referrers/{alpha.id}")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None


# --- webhooks -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1.evil.example/", "must use https"),
    ("https://127.0.0.1/hook", "private or local"),
    ("ftp://bank.example/hook", "https:// URL with a host"),
    ("", "Enter the webhook"),
])
def test_a_refused_webhook_url_is_shown_and_nothing_is_written(app, op, url, message):
    referrer, _ = make_referrer(name="Bank Alpha")
    page = f"/operator/referrers/{referrer.id}"
    before = _count(AuditEntry)
    response = post(op, f"{page}/webhook", {"webhook_url": url}, token_from=page)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="webhook_url-error"' in text and message in text
    assert f'value="{url}"' in text
    db.session.expire_all()
    assert db.session.get(Referrer, referrer.id).webhook_url is None and _count(AuditEntry) == before


def test_a_test_delivery_reaches_a_real_server_signed_with_the_shown_secret(app, op, operator, receiver):
    app.config["MICROFIN_WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver listens on 127.0.0.1
    referrer, _ = make_referrer(name="Bank Alpha")
    page = f"/operator/referrers/{referrer.id}"
    response = post(op, f"{page}/webhook", {"webhook_url": receiver.url}, token_from=page)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    secret = _secret(response)
    db.session.expire_all()
    assert db.session.get(Referrer, referrer.id).webhook_url == receiver.url
    assert secret not in op.get(page).get_data(as_text=True)
    changed = _audit("referrers", "update", referrer.id)
    assert changed and changed[-1].changes["webhook_secret"] == "(secret)"
    assert changed[-1].changes["webhook_url"] == [None, receiver.url]

    response = post(op, f"{page}/webhook/test", token_from=page)
    assert response.status_code == 302
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.referrer_id == referrer.id))
    assert message.event == "webhook.test" and message.referral_id is None
    assert f'id="message-{message.id}" data-state="queued"' in op.get(page).get_data(as_text=True)
    tested = _audit("referrers", "webhook-test", referrer.id)
    assert len(tested) == 1 and tested[0].actor == operator.email

    assert webhooks.deliver_due("test-worker") == 1  # what `microfin worker` does
    headers, raw = receiver.received[0]
    expected = hmac.new(secret.encode(), headers["X-Microfin-Timestamp"].encode() + b"." + raw,
                        hashlib.sha256).hexdigest()
    assert headers["X-Microfin-Signature"] == f"sha256={expected}"
    assert headers["X-Microfin-Event"] == "webhook.test" and json.loads(raw)["event"] == "webhook.test"
    shown = op.get(page).get_data(as_text=True)
    assert f'id="message-{message.id}" data-state="delivered"' in shown
    assert "test-worker · HTTP 200" in shown

    receiver.status = 500
    post(op, f"{page}/webhook/test", token_from=page)
    assert webhooks.deliver_due("test-worker") == 1
    shown = op.get(page).get_data(as_text=True)
    assert 'data-state="retrying"' in shown and "HTTP 500" in shown

    response = post(op, f"{page}/webhook/remove", token_from=page)
    assert response.status_code == 302
    db.session.expire_all()
    removed = db.session.get(Referrer, referrer.id)
    assert removed.webhook_url is None and removed.webhook_secret is None
    assert _audit("referrers", "update", referrer.id)[-1].changes["webhook_url"] == [receiver.url, None]
    response = post(op, f"{page}/webhook/test", token_from=page)
    assert len(_audit("referrers", "webhook-test", referrer.id)) == 2  # no test without a webhook
    assert "no webhook to test" in op.get(page).get_data(as_text=True)


# --- portal users ---------------------------------------------------------------------------------

def test_portal_users_of_the_organisation_are_listed(app, op):
    alpha, _ = make_referrer(name="Bank Alpha")
    beta, _ = make_referrer(name="Bank Beta")
    # Portal accounts (role ``referrer``) come with the portal work; a user row whose referrer_id
    # is the organisation is what this list shows.
    with all_institutions("test: portal users belong to no institution (row-level security)"):
        for email, referrer in (("adviser@alpha.test", alpha), ("adviser@beta.test", beta)):
            db.session.add(User(email=email, name=email.split("@")[0], role="referrer", referrer_id=referrer.id,
                                institution_id=None, preferred_language="nl"))
        db.session.commit()
    page = op.get(f"/operator/referrers/{alpha.id}").get_data(as_text=True)
    assert "adviser@alpha.test" in page and "adviser@beta.test" not in page


# --- only the operator ----------------------------------------------------------------------------

def test_nobody_but_the_operator_opens_the_screens(app, staff_a, auditor):
    referrer, _ = make_referrer(name="Bank Alpha")
    institution = by_slug("microstart")
    token = referrer.tokens[0]
    urls = ["/operator/institutions", f"/operator/institutions/{institution.id}/disable",
            "/operator/referrers", f"/operator/referrers/{referrer.id}",
            f"/operator/referrers/{referrer.id}/tokens/{token.id}/revoke"]
    posts = [f"/operator/institutions/{institution.id}/disable", "/operator/referrers",
             f"/operator/referrers/{referrer.id}/tokens", f"/operator/referrers/{referrer.id}/webhook",
             f"/operator/referrers/{referrer.id}/webhook/test",
             f"/operator/referrers/{referrer.id}/tokens/{token.id}/revoke"]
    before = (_count(ApiToken), _operator_entries())
    for user in (staff_a.admin, staff_a.officer, staff_a.coach, auditor):
        client = app.test_client()
        assert login(client, user).status_code == 302
        for url in urls:
            assert client.get(url).status_code == 403, (user.role, url)
        token_value = csrf_token(client, "/")
        for url in posts:
            assert client.post(url, data={"csrf_token": token_value, "name": "X", "kind": "bank",
                                          "webhook_url": "https://x.example/"}).status_code == 403
    db.session.expire_all()
    assert by_slug("microstart").enabled and (_count(ApiToken), _operator_entries()) == before
    assert app.test_client().get("/operator/referrers").status_code == 302  # signed out: sign in first


def test_a_disabled_institution_gets_no_referral_and_leaves_the_guide(app, op, client):
    from core.models.referrals import ReferralOffer
    from tests.referral_helpers import body, send

    hefboom = by_slug("hefboom")
    name = hefboom.name("en")
    assert name in client.get("/financing?lang=en").get_data(as_text=True)
    post(op, f"/operator/institutions/{hefboom.id}/disable", token_from="/operator/institutions")
    assert name not in client.get("/financing?lang=en").get_data(as_text=True)
    _, token = make_referrer(name="Bank Alpha")
    created = send(client, token, body(**{"applicant.postal_code": "9000", "applicant.language": "nl"}))
    assert created.status_code == 201
    with all_institutions("test: where was it offered"):
        offered = {o.institution_id for o in db.session.scalars(select(ReferralOffer))}
    assert hefboom.id not in offered
    post(op, f"/operator/institutions/{hefboom.id}/enable", token_from="/operator/institutions")
    _, token = make_referrer(name="Bank Beta")
    send(client, token, body(external_reference="B-2", **{
        "applicant.postal_code": "9000", "applicant.language": "nl", "applicant.first_name": "Jan",
        "applicant.last_name": "Janssens", "applicant.email": "jan@example.be"}))
    with all_institutions("test: where was it offered"):
        offered = {o.institution_id for o in db.session.scalars(select(ReferralOffer))}
    assert hefboom.id in offered  # a like request goes to Hefboom once it is enabled again
