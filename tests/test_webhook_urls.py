"""Webhook URLs are parsed, not prefix-matched; private addresses only when the operator allows."""
import pytest

from core.services import webhook_urls, webhooks
from core.services.errors import ValidationFailed
from core.services.referrers import add_referrer, set_webhook
from tests.referral_helpers import body, send
from tests.test_webhooks import SECRET, receiver  # noqa: F401  (the real HTTP receiver fixture)

REFUSED_ALWAYS = [
    "http://127.0.0.1.evil.example/",      # a public name that only starts like a loopback address
    "http://bank.example/hook",            # plain http to a public host
    "ftp://bank.example/hook",
    "https://user:secret@bank.example/",   # credentials in the URL
    "https://bank.example:99999/",          # no such port
    "https:///hook",                        # no host
    "not a url",
]
PRIVATE = [
    "https://127.0.0.1/hook", "http://127.0.0.1:8080/hook", "https://localhost/hook",
    "https://10.1.2.3/", "https://192.168.0.10/", "https://172.16.5.5/", "https://169.254.169.254/latest",
    "https://[::1]/", "https://[fd00::1]/", "https://0.0.0.0/", "https://printer.local/",
    "https://db.internal/",
]


@pytest.mark.parametrize("url", REFUSED_ALWAYS)
def test_refused_whatever_the_setting(app, url):
    assert webhook_urls.problem(url, allow_private=False)
    assert webhook_urls.problem(url, allow_private=True)


@pytest.mark.parametrize("url", PRIVATE)
def test_private_addresses_only_when_the_operator_allows(app, url):
    assert "private" in str(webhook_urls.problem(url, allow_private=False))
    assert webhook_urls.problem(url, allow_private=True) is None


@pytest.mark.parametrize("url", ["https://bank.example/hook", "https://127.0.0.1.evil.example/",
                                 "https://hooks.bank.example:8443/microfin?x=1"])
def test_public_https_is_accepted(app, url):
    assert webhook_urls.problem(url, allow_private=False) is None


def test_the_service_refuses_a_private_webhook_and_writes_nothing(app):
    from core.models.referrals import Referrer
    from core.extensions import db
    from sqlalchemy import func, select

    with pytest.raises(ValidationFailed) as refused:
        add_referrer(name="Bank X", kind="bank", webhook_url="https://10.0.0.8/hook", webhook_secret=SECRET)
    assert "private" in str(refused.value.errors["webhook_url"])
    assert db.session.scalar(select(func.count()).select_from(Referrer)) == 0


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(app):
    assert "non-public" in webhook_urls.resolved_problem("https://localhost./", allow_private=False)
    assert webhook_urls.resolved_problem("https://localhost./", allow_private=True) is None


def test_delivery_stops_when_the_operator_withdraws_private_addresses(app, client, receiver):
    app.config["MICROFIN_WEBHOOK_ALLOW_PRIVATE"] = True
    issued = add_referrer(name="Bank Y", kind="bank")
    set_webhook("Bank Y", receiver.url, SECRET)
    assert send(client, issued.secret, body()).status_code == 201
    app.config["MICROFIN_WEBHOOK_ALLOW_PRIVATE"] = False
    assert webhooks.deliver_due("w1") == 1  # attempted, refused before any connection
    assert receiver.received == []
    from core.extensions import db
    from core.models.referrals import WebhookDelivery
    from sqlalchemy import select

    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.status_code is None and "private" in delivery.error
    from core.models.referrals import OutboxMessage

    message = db.session.get(OutboxMessage, delivery.message_id)
    assert message.delivered_at is None and message.next_attempt_at is not None
