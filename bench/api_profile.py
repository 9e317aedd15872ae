"""Where a referral API request spends its time: SQL statements and a cProfile, in process.

    .venv/bin/python bench/api_profile.py [--referrals 1000] [--requests 200] [--profile post|get]
    MICROFIN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/microfin_api \\
        .venv/bin/python bench/api_profile.py

Builds a registry of ``--referrals`` referrals (``bench/gunicorn_ratio.seed_referrals``), then
sends ``--requests`` POSTs and GETs through the real WSGI app (werkzeug's test client, every
request in its own app context as under gunicorn), prints the SQL statements of one of each and
the mean time per request; ``--profile`` prints the top of a cProfile of those requests
(``PROFILE_SORT=tottime`` to sort by own time).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", choices=("post", "get"))
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    args = parser.parse_args()
    os.environ.setdefault("MICROFIN_INSTANCE_PATH", tempfile.mkdtemp(prefix="microfin-profile-"))
    from sqlalchemy import event

    from bench.common import database_url
    from bench.gunicorn_ratio import _referral_body, seed_referrals
    from core import create_app
    from core.cli import upgrade_database
    from core.extensions import db
    from core.services import referrers

    url = database_url("api_profile", reuse=args.reuse)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MICROFIN_DATA_KEY": "bench-data-key",
                      "MICROFIN_API_RATE_LIMIT": "1000000/minute"})
    with app.app_context():
        upgrade_database()
        token = referrers.add_referrer(name=f"Profile Bank {time.time()}", kind="bank").secret
        seed_referrals(args.referrals)
        db.session.remove()

    client = app.test_client()
    api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: statements.append(statement))
    counter = iter(range(10**9))

    def post():
        n = next(counter)
        with app.app_context():
            answer = client.post("/api/v1/referrals", data=_referral_body(0, n),
                                 headers={**api, "Idempotency-Key": f"profile-{time.time()}-{n}"})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()["id"]

    referral_id = post()

    def get():
        with app.app_context():
            answer = client.get(f"/api/v1/referrals/{referral_id}", headers=api)
        assert answer.status_code == 200, answer.get_data(as_text=True)

    for label, call in (("POST /api/v1/referrals", post), ("GET /api/v1/referrals/<id>", get)):
        call()
        statements.clear()
        call()
        print(f"\n{label}: {len(statements)} statements")
        for statement in statements:
            print("   ", " ".join(statement.split())[:160])
        statements.clear()
        started = time.perf_counter()
        for _ in range(args.requests):
            call()
        mean = (time.perf_counter() - started) / args.requests * 1000
        print(f"{label}: {mean:.2f} ms a request (mean of {args.requests}, in process)")
        if args.profile and label.startswith(args.profile.upper()):
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                call()
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(60)
    print(json.dumps({"database": url.split(":")[0]}))


if __name__ == "__main__":
    main()
