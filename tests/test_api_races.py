"""The referral API under parallel requests over real HTTP (issue 13, point 8): one Idempotency-Key
sent eight times at once gives one referral, one 201 and seven replays of it; one
``external_reference`` raced under different keys gives one 201 and 422s naming the field."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from core.extensions import db
from core.models.referrals import Referral
from tests.live_server import live_server  # noqa: F401
from tests.referral_helpers import body, make_referrer

PARALLEL = 8


def _post(url: str, token: str, data: dict, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/api/v1/referrals", data=json.dumps(data).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key,
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def _all_at_once(calls):
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(lambda call: call(), calls))


def _referrals() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Referral))


def test_one_key_sent_eight_times_at_once_stores_one_referral(live_server):
    _, token = make_referrer()
    answers = _all_at_once([lambda: _post(live_server.url, token, body(), "same-key")] * PARALLEL)
    statuses = [status for status, _ in answers]
    assert statuses == [201] * PARALLEL, statuses
    assert len({answer["id"] for _, answer in answers}) == 1
    assert _referrals() == 1


def test_one_reference_raced_under_different_keys_gives_one_referral_and_422s(live_server):
    _, token = make_referrer()
    calls = [lambda n=n: _post(live_server.url, token, body(), f"key-{n}") for n in range(PARALLEL)]
    answers = _all_at_once(calls)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [422] * (PARALLEL - 1), statuses
    for status, answer in answers:
        if status == 422:
            assert answer["errors"][0]["field"] == "external_reference"
    assert _referrals() == 1
