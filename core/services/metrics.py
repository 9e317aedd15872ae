"""What the operator's monitoring reads (``/metrics``, issue 14 point 10): queue lengths, failed
deliveries and chore runs, counted in the database at scrape time so that every node answers the
same, and the request latency each process measured (``core.web.metrics``)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from core.extensions import db
from core.models import ChoreRun, OutboxMail, OutboxMessage
from core.services import outbox


@dataclass(frozen=True)
class Sample:
    """One value of a metric family, with its labels."""

    labels: dict
    value: float


def mail_queue() -> list[Sample]:
    """Mails in the outbox by status (queued, sent, failed)."""
    return [Sample({"status": status}, count) for status, count in outbox.counts().items()]


def webhook_queue() -> list[Sample]:
    """Webhook messages waiting, delivered and given up."""
    waiting = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.delivered_at.is_(None), OutboxMessage.gave_up_at.is_(None)))
    delivered = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.delivered_at.is_not(None)))
    given_up = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.gave_up_at.is_not(None)))
    return [Sample({"status": "waiting"}, waiting), Sample({"status": "delivered"}, delivered),
            Sample({"status": "given_up"}, given_up)]


def failed_deliveries() -> list[Sample]:
    """Deliveries that will not be tried again: failed mails and webhook messages given up."""
    mails = dict((s.labels["status"], s.value) for s in mail_queue()).get("failed", 0)
    webhooks = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.gave_up_at.is_not(None)))
    return [Sample({"channel": "mail"}, mails), Sample({"channel": "webhook"}, webhooks)]


def chore_runs() -> list[Sample]:
    """Runs of each scheduled chore by outcome (ok, failed, running)."""
    outcome = case((ChoreRun.finished_at.is_(None), "running"), (ChoreRun.ok.is_(True), "ok"),
                      else_="failed")
    rows = db.session.execute(select(ChoreRun.chore, outcome, func.count()).group_by(ChoreRun.chore, outcome))
    return [Sample({"chore": chore, "outcome": state}, count) for chore, state, count in rows]


def chore_last_finished() -> list[Sample]:
    """When each chore last finished (Unix time), for an alert on a chore that stopped running."""
    rows = db.session.execute(select(ChoreRun.chore, func.max(ChoreRun.finished_at)).group_by(ChoreRun.chore))
    return [Sample({"chore": chore}, finished.timestamp()) for chore, finished in rows if finished]
