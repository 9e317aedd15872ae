"""``/metrics`` for the operator's monitoring and ``/readyz`` with Redis (issue 14, points 9 and 10)."""
from __future__ import annotations

import re

from core import create_app
from core.extensions import db
from core.services import outbox
from tests.conftest import IsolatedClient, base_config, login
from tests.node_helpers import redis_url
from tests.test_mail_outbox import CONTEXT

TOKEN = "a-scraper-token-of-some-length"


def _value(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    assert match, f"{name}{{{wanted}}} not in the metrics"
    return float(match.group(1))


def test_metrics_are_hidden_without_the_token_or_the_operator_role(app, client, staff_a):
    assert client.get("/metrics").status_code == 404  # no token configured: not advertised
    app.config["MICROFIN_METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 404
    login(client, staff_a.admin)
    assert client.get("/metrics").status_code == 404  # an institution's admin is no operator


def test_metrics_count_requests_queues_and_chores(app, client, staff_a, operator):
    app.config["MICROFIN_METRICS_TOKEN"] = TOKEN
    for number in range(3):
        outbox.enqueue(to=f"p{number}@example.test", template="password_reset", context=CONTEXT, locale="fr",
                       kind="password_reset")
    db.session.commit()
    from core.services import chores

    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    # noon in Brussels: every daily chore's hour has passed, whatever the hour the tests run
    chores.run_due(datetime.combine(chores.today(), time(12, 0), ZoneInfo("Europe/Brussels")), worker="metrics-test")
    login(client, staff_a.officer)
    for _ in range(2):
        assert client.get("/clients/").status_code == 200
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.get_data(as_text=True)
    assert _value(text, "microfin_requests_total", endpoint="clients.index", method="GET", status="200") >= 2
    assert _value(text, "microfin_request_duration_seconds_count", endpoint="clients.index", method="GET") >= 2
    assert _value(text, "microfin_mail_outbox", status="queued") == 3
    assert _value(text, "microfin_failed_deliveries", channel="mail") == 0
    assert _value(text, "microfin_webhook_outbox", status="waiting") == 0
    assert _value(text, "microfin_chore_runs", chore="database-statistics", outcome="ok") == 1
    assert _value(text, "microfin_chore_last_finished_timestamp_seconds", chore="database-statistics") > 1.7e9
    operator_client = app.test_client()
    login(operator_client, operator)  # the operator reads them signed in, without the token
    assert "microfin_mail_outbox" in operator_client.get("/metrics").get_data(as_text=True)


def test_readyz_checks_redis_when_the_limits_are_kept_there(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path / "instance"))
    shared = create_app(base_config(database_url, RATELIMIT_STORAGE_URI=redis_url()))
    shared.test_client_class = IsolatedClient
    ready = shared.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}
    down = create_app(base_config(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0"))
    down.test_client_class = IsolatedClient
    answer = down.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.get_json() == {"status": "unavailable", "failing": ["redis"]}
    assert answer.headers["Retry-After"] == "30"
    for application in (shared, down):
        with application.app_context():
            db.engine.dispose()


def test_json_logs_give_one_object_per_line(tmp_path):
    import json
    import os
    import subprocess
    import sys

    script = ("import logging; from core import create_app; create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://'}); "
              "logging.getLogger('core.probe').warning('the outbox is %s', 'late')")
    env = {**os.environ, "MICROFIN_LOG_FORMAT": "json", "MICROFIN_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["level"] == "WARNING" and line["logger"] == "core.probe" and line["message"] == "the outbox is late"
    assert line["time"].startswith("20")
