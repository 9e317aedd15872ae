"""Telling referrers what became of their referrals: an outbox, delivered by ``microfin worker``.

Messages are written in the same transaction as the change (``enqueue``). A worker *claims* a due
message with one conditional UPDATE (atomic on SQLite and PostgreSQL alike), posts it signed with
HMAC-SHA256, and marks it delivered; a claim that is not finished within ``CLAIM_SECONDS`` (worker
crashed) may be taken again. Two workers therefore never send the same message at once, and a
message acknowledged by the receiver is never sent again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from core.extensions import db
from core.services import audit, data_keys, webhook_urls
from core.services.errors import ValidationFailed
from core.models.referrals import OutboxMessage, Referral, Referrer, WebhookDelivery
from core.models.types import utcnow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60
MAX_ATTEMPTS = 12
SIGNATURE_HEADER = "X-Microfin-Signature"
TIMESTAMP_HEADER = "X-Microfin-Timestamp"
EVENT_HEADER = "X-Microfin-Event"
DELIVERY_HEADER = "X-Microfin-Delivery"


def enqueue(referral: Referral, event: str, view: dict) -> None:
    """Queue a notification for the referral's referrer (only if it has a webhook)."""
    referrer = db.session.get(Referrer, referral.referrer_id)
    if referrer is None or not referrer.webhook_url:
        return
    db.session.add(OutboxMessage(referrer_id=referrer.id, referral_id=referral.id, event=event,
                                 payload={"event": event, "referral": view}))


TEST_EVENT = "webhook.test"


def enqueue_test(referrer: Referrer) -> OutboxMessage:
    """Queue a ``webhook.test`` message to ``referrer``'s webhook, delivered by the worker like any
    other (signed, retried, logged); it belongs to no referral. Audited as ``webhook-test``."""
    if not referrer.webhook_url:
        raise ValidationFailed({"": _l("This referrer has no webhook to test.")})
    message = OutboxMessage(referrer_id=referrer.id, referral_id=None, event=TEST_EVENT,
                            payload={"event": TEST_EVENT, "referral": None,
                                     "sent_at": utcnow().isoformat()})
    db.session.add(message)
    db.session.flush()
    audit.record("webhook-test", referrer, {"message_id": message.id, "url": referrer.webhook_url})
    db.session.commit()
    return message


@dataclass
class MessageLog:
    message: OutboxMessage
    attempts: list  # WebhookDelivery rows, oldest first

    @property
    def state(self) -> str:
        """``delivered``, ``failed`` (given up), ``retrying`` or ``queued``."""
        if self.message.delivered_at:
            return "delivered"
        if self.message.gave_up_at:
            return "failed"
        return "retrying" if self.message.attempts else "queued"


def recent_messages(referrer: Referrer, limit: int = 20) -> list[MessageLog]:
    """The referrer's newest outbox messages with their delivery attempts (the operator's log)."""
    messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.referrer_id == referrer.id)
                                       .order_by(OutboxMessage.id.desc()).limit(limit)))
    attempts: dict[int, list] = {m.id: [] for m in messages}
    if messages:
        for row in db.session.scalars(select(WebhookDelivery)
                                      .where(WebhookDelivery.message_id.in_(list(attempts)))
                                      .order_by(WebhookDelivery.id)):
            attempts[row.message_id].append(row)
    return [MessageLog(m, attempts[m.id]) for m in messages]


def backoff(attempts: int) -> timedelta:
    """Wait 1, 2, 4 … minutes between attempts, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``timestamp + "." + body`` keyed with the referrer's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass
class Response:
    status: int | None
    error: str | None = None


def http_post(url: str, body: bytes, headers: dict, timeout: float = 10.0) -> Response:
    """POST with the standard library; a 2xx answer counts as delivered."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (operator-set URL)
            return Response(status=answer.status)
    except urllib.error.HTTPError as exc:
        return Response(status=exc.code, error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return Response(status=None, error=str(exc)[:400])


def _claim(message_id: int, worker: str, now: datetime) -> bool:
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.delivered_at.is_(None),
               or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=worker)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _due(now: datetime, limit: int) -> list[int]:
    return list(db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.gave_up_at.is_(None),
               OutboxMessage.next_attempt_at <= now,
               or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .order_by(OutboxMessage.id).limit(limit)))


def _post_if_allowed(post: Callable[..., Response], url: str | None, body: bytes, headers: dict) -> Response:
    """POST unless the URL is gone or its host now resolves to an address that is not allowed."""
    if not url:
        return Response(None, "no webhook")
    refused = webhook_urls.problem(url, allow_private=webhook_urls.private_allowed()) or \
        webhook_urls.resolved_problem(url, allow_private=webhook_urls.private_allowed())
    return Response(None, str(refused)) if refused else post(url, body, headers)


def signing_secret(referrer: Referrer) -> str:
    """The referrer's webhook secret in clear (it is stored encrypted with the data key)."""
    return data_keys.unseal_optional(data_keys.WEBHOOK_SECRET, referrer.webhook_secret) or ""


def _deliver(message: OutboxMessage, worker: str, post: Callable[..., Response]) -> None:
    referrer = db.session.get(Referrer, message.referrer_id)
    body = json.dumps(message.payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", EVENT_HEADER: message.event,
               DELIVERY_HEADER: str(message.id), TIMESTAMP_HEADER: timestamp,
               SIGNATURE_HEADER: sign(signing_secret(referrer), timestamp, body)}
    started = time.monotonic()
    answer = _post_if_allowed(post, referrer.webhook_url, body, headers)
    elapsed = int((time.monotonic() - started) * 1000)
    now = utcnow()
    message.attempts += 1
    db.session.add(WebhookDelivery(message_id=message.id, worker=worker, status_code=answer.status,
                                   error=answer.error, duration_ms=elapsed, attempted_at=now))
    if answer.status is not None and 200 <= answer.status < 300:
        message.delivered_at = now
    elif message.attempts >= MAX_ATTEMPTS:
        message.gave_up_at, message.last_error = now, answer.error
    else:
        message.next_attempt_at, message.last_error = now + backoff(message.attempts), answer.error
    message.claimed_until = None
    db.session.commit()


def deliver_due(worker: str, *, limit: int = 50, post: Callable[..., Response] = http_post) -> int:
    """Deliver what is due now; returns how many messages this worker attempted."""
    attempted = 0
    for message_id in _due(utcnow(), limit):
        if not _claim(message_id, worker, utcnow()):
            continue  # another worker has it
        message = db.session.get(OutboxMessage, message_id)
        db.session.refresh(message)
        _deliver(message, worker, post)
        attempted += 1
    return attempted
