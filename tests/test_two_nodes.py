"""More than one machine (issue 14, point 10): two app processes and two workers on one database
and one Redis. A session opened on one node works on the other, the API rate limit is counted
once across both, and every mail, webhook and scheduled chore happens exactly once."""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar

from sqlalchemy import func, select

from core.extensions import db
from core.models import ChoreRun, OutboxMail, OutboxMessage
from core.services import outbox
from tests.conftest import PASSWORD
from tests.node_helpers import redis_url, serve, work
from tests.referral_helpers import body, make_referrer
from tests.test_mail_outbox import CONTEXT
from tests.test_webhooks import SECRET, Receiver

API_LIMIT = 4


def _environment(app, smtp_server, limits: str) -> dict:
    settings = {**smtp_server.settings(), "MICROFIN_SMTP_PORT": str(smtp_server.port)}
    return {"MICROFIN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "MICROFIN_SECRET_KEY": app.config["SECRET_KEY"], "MICROFIN_REQUIRE_SECOND_FACTOR": "0",
            "MICROFIN_RATELIMIT_STORAGE": limits, "MICROFIN_API_RATE_LIMIT": f"{API_LIMIT}/minute",
            "MICROFIN_WEBHOOK_ALLOW_PRIVATE": "1", **{k: str(v) for k, v in settings.items()}}


def _sign_in(base: str, email: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token}).encode()
    assert "/login" not in opener.open(f"{base}/login", data=form).url
    return opener


def _refer(base: str, token: str, number: int) -> int:
    data = json.dumps(body(external_reference=f"NODE-{number}", **{"applicant.last_name": f"Node{number}"}))
    request = urllib.request.Request(f"{base}/api/v1/referrals", data=data.encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": f"node-{number}",
        "Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request).status
    except urllib.error.HTTPError as error:
        return error.code


def _wait_for_quiet(timeout: float = 40) -> None:
    """Until no mail is queued and no webhook waits (the workers are done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        waiting = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.delivered_at.is_(None)))
        if outbox.counts()["queued"] == 0 and waiting == 0 and db.session.scalar(
                select(func.count()).select_from(ChoreRun).where(ChoreRun.finished_at.is_(None))) == 0 \
                and db.session.scalar(select(func.count()).select_from(ChoreRun)):
            return
        time.sleep(0.3)
    raise AssertionError(f"the workers did not finish: {outbox.counts()}")


def test_two_nodes_and_two_workers_share_sessions_limits_and_work_exactly_once(app, staff_a, smtp_server):
    receiver = Receiver()
    nodes = []
    try:
        app.config["MICROFIN_WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver listens on 127.0.0.1
        _, token = make_referrer(webhook_url=receiver.url, webhook_secret=SECRET)
        for number in range(12):
            outbox.enqueue(to=f"person{number}@example.test", template="password_reset", context=CONTEXT,
                           locale="nl", kind="password_reset")
        db.session.commit()
        env = _environment(app, smtp_server, redis_url())
        first, second = serve(env), serve(env)
        nodes += [first, second]

        # a session opened on one node is the same session on the other
        browser = _sign_in(first.url, staff_a.officer.email)
        page = browser.open(f"{second.url}/clients/")
        assert "/login" not in page.url and staff_a.officer.name in page.read().decode()

        # the API limit is counted once for both nodes (per process it would allow twice as many)
        answers = [_refer(node.url, token, number) for number, node in
                   enumerate([first, second] * (API_LIMIT // 2) + [first, second])]
        assert answers == [201] * API_LIMIT + [429, 429]

        nodes += [work(env, "worker-a"), work(env, "worker-b")]
        _wait_for_quiet()
        mails = db.session.scalar(select(func.count()).select_from(OutboxMail))
        received = smtp_server.wait_for(mails, timeout=10)
        time.sleep(1.5)  # a second delivery, if any, would arrive within a worker round or two
        assert len(smtp_server.messages) == mails >= 12
        assert all(count == 1 for count in Counter(m["To"] for m in received if "example.test" in m["To"]).values())
        messages = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        deliveries = Counter(headers["X-Microfin-Delivery"] for headers, _ in receiver.received)
        assert messages >= API_LIMIT and len(deliveries) == messages and set(deliveries.values()) == {1}
        runs = Counter((run.chore, run.period_key) for run in db.session.scalars(select(ChoreRun)))
        assert runs and set(runs.values()) == {1}
        assert {run.worker for run in db.session.scalars(select(ChoreRun))} <= {"worker-a", "worker-b"}
    finally:
        for node in nodes:
            node.stop()
        receiver.close()
