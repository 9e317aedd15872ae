"""``/metrics`` in the Prometheus text format (issue 14, point 10).

Request latency by endpoint is measured by each process; queue lengths, failed deliveries and chore
runs are counted in the database when scraped (``core.services.metrics``), so any node gives the
same figures. The page is open to a scraper sending ``Authorization: Bearer $MICROFIN_METRICS_TOKEN``
and to a signed-in operator; without a token configured, only the operator sees it.

Under gunicorn each worker process keeps its own latency figures: set ``PROMETHEUS_MULTIPROC_DIR``
to an empty folder (docs/deploy.md) and every worker's figures are added up at each scrape.
"""
from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Response, abort, current_app, g, request
from flask_login import current_user
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from core.access import public
from core.services import metrics

bp = Blueprint("metrics", __name__)

REQUEST_SECONDS = Histogram(
    "microfin_request_duration_seconds", "Time to answer a request, by endpoint and method.",
    ["endpoint", "method"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
REQUESTS = Counter("microfin_requests", "Requests answered, by endpoint, method and status code.",
                   ["endpoint", "method", "status"])

#: name, help and the service function of each figure counted in the database at scrape time
DATABASE_FIGURES = (
    ("microfin_mail_outbox", "Mails in the outbox by status.", metrics.mail_queue),
    ("microfin_webhook_outbox", "Webhook messages by status.", metrics.webhook_queue),
    ("microfin_failed_deliveries", "Mails and webhook messages that will not be tried again.",
     metrics.failed_deliveries),
    ("microfin_chore_runs", "Runs of each scheduled chore by outcome.", metrics.chore_runs),
    ("microfin_chore_last_finished_timestamp_seconds", "When each chore last finished (Unix time).",
     metrics.chore_last_finished),
)


class DatabaseFigures:
    """A Prometheus collector reading the figures of ``DATABASE_FIGURES`` (in the request's app)."""

    def collect(self):
        for name, text, read in DATABASE_FIGURES:
            samples = read()
            labels = sorted(samples[0].labels) if samples else []
            family = GaugeMetricFamily(name, text, labels=labels)
            for sample in samples:
                family.add_metric([str(sample.labels[label]) for label in labels], sample.value)
            yield family


@bp.before_app_request
def _start_timer():
    g.metrics_started = time.perf_counter()


@bp.after_app_request
def _observe(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        endpoint = request.endpoint or "unmatched"
        REQUEST_SECONDS.labels(endpoint, request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    return response


def _may_read() -> bool:
    token = current_app.config.get("MICROFIN_METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return current_user.is_authenticated and current_user.role == "operator"


@bp.route("/metrics")
@public
def scrape():
    """The figures in the Prometheus text format (404 to anyone else, so it is not advertised)."""
    if not _may_read():
        abort(404)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
        registry.register(REQUESTS)
    registry.register(DatabaseFigures())
    response = Response(generate_latest(registry), mimetype="text/plain; version=0.0.4; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
