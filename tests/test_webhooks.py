"""Webhooks to referrers: signed, retried with back-off, logged, delivered exactly once."""
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models.referrals import OutboxMessage, WebhookDelivery
from core.models.types import utcnow
from core.services import webhooks
from tests.referral_helpers import body, make_referrer, send

SECRET = "a-long-webhook-signing-secret"


class Receiver:
    """A real HTTP server on 127.0.0.1 standing in for a bank's webhook endpoint."""

    def __init__(self):
        self.received = []
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                owner.received.append((dict(self.headers), raw))
                self.send_response(owner.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hooked_bank(app, receiver):
    app.config["MICROFIN_WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver listens on 127.0.0.1
    return make_referrer(webhook_url=receiver.url, webhook_secret=SECRET)


def test_status_change_is_delivered_signed(app, client, hooked_bank, receiver):
    _, token = hooked_bank
    created = send(client, token, body()).get_json()
    assert webhooks.deliver_due("w1") == 1
    headers, raw = receiver.received[0]
    expected = hmac.new(SECRET.encode(), headers["X-Microfin-Timestamp"].encode() + b"." + raw,
                        hashlib.sha256).hexdigest()
    assert headers["X-Microfin-Signature"] == f"sha256={expected}"
    payload = json.loads(raw)
    assert payload["event"] == "referral.offered" and payload["referral"]["id"] == created["id"]
    assert webhooks.deliver_due("w1") == 0 and len(receiver.received) == 1


def test_failures_are_retried_with_backoff_and_logged(app, client, hooked_bank, receiver):
    _, token = hooked_bank
    send(client, token, body())
    receiver.status = 500
    assert webhooks.deliver_due("w1") == 1
    message = db.session.scalar(select(OutboxMessage))
    assert message.attempts == 1 and message.delivered_at is None and message.next_attempt_at > utcnow()
    assert webhooks.deliver_due("w1") == 0  # not due yet
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    receiver.status = 200
    assert webhooks.deliver_due("w1") == 1
    db.session.refresh(message)
    assert message.delivered_at is not None
    log = db.session.scalars(select(WebhookDelivery.status_code).order_by(WebhookDelivery.id)).all()
    assert log == [500, 200]


def test_backoff_grows_and_is_capped():
    assert [webhooks.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 10, 30)] == [1, 2, 4, 360, 360]


def test_referrer_without_webhook_gets_no_outbox_messages(app, client):
    _, token = make_referrer("Polling Bank")
    send(client, token, body())
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_two_workers_deliver_each_message_exactly_once(app, client, hooked_bank, receiver):
    _, token = hooked_bank
    for i in range(20):
        send(client, token, body(external_reference=f"R{i}", **{"applicant.first_name": f"N{i}"}), key=f"k{i}")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 20

    def work(name):
        with app.app_context():
            while webhooks.deliver_due(name, limit=3):
                pass
            db.session.remove()

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    deliveries = [headers["X-Microfin-Delivery"] for headers, _ in receiver.received]
    assert len(deliveries) == 20 and len(set(deliveries)) == 20
