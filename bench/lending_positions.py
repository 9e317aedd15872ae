"""Stored positions at an institution's size: import, verify, the late list, PAR, booking a payment.

    nice -n 10 .venv/bin/python bench/lending_positions.py --rows 10000          # SQLite in bench/out/
    MICROFIN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/microfin_bench_positions \\
        nice -n 10 .venv/bin/python bench/lending_positions.py --rows 10000      # PostgreSQL

Imports ``--rows`` loans of microStart (bench/portfolio_csv.py, seeded; the import books every
instalment due before today on its due date), runs ``positions.verify`` (must find nothing), then
times ``positions.late`` and ``positions.quality`` (the services behind /loans/late and
/loans/quality) today and a year ago, the pages themselves over HTTP (the Flask test client, an
officer signed in: routing, session, query, template), and booking a payment on random active
loans, both as the service call and as the HTTP form post. Figures go in bench/RESULTS-lending.md.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def timed(call, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from sqlalchemy import select

    from bench.common import import_microstart_portfolio
    from core.extensions import db
    from core.models import Loan, User
    from core.services import positions, repayments
    from core.tenancy import acting_for, all_institutions

    app, institution_id, result, seconds, _ = import_microstart_portfolio("positions", args.rows)
    print(f"import {result.loans} loans: {seconds:.1f} s")
    with app.app_context():
        with acting_for(institution_id):
            started = time.perf_counter()
            found = positions.verify()
            print(f"verify: {len(found)} difference(s) in {time.perf_counter() - started:.1f} s")
            today = date.today()
            for label, on in (("today", today), ("a year ago", today - timedelta(days=365))):
                late = timed(lambda: positions.late(on), args.runs)
                quality = timed(lambda: positions.quality(on), args.runs)
                print(f"late list {label} ({len(positions.late(on))} loans): p95 {p95(late):.0f} ms; "
                      f"quality {label}: p95 {p95(quality):.0f} ms (PAR30 {positions.quality(on).par30})")
            with all_institutions("bench user"):
                user = db.session.scalars(select(User)).first()
            active = list(db.session.scalars(select(Loan.id).where(Loan.status == "active")))
            rng = random.Random(11)
            booking = timed(lambda: repayments.record_payment(rng.choice(active), paid_on=today, amount="25.00",
                                                              user=user), 30)
            print(f"booking a payment (service): p95 {p95(booking):.0f} ms")
    pages(app, institution_id, active, args.runs)
    with app.app_context(), acting_for(institution_id):
        started = time.perf_counter()
        print(f"verify after payments: {len(positions.verify())} difference(s) "
              f"in {time.perf_counter() - started:.1f} s")


def pages(app, institution_id: int, active: list[int], runs: int) -> None:
    """The officer's pages and the payment form over HTTP, through the test client."""
    import re

    from core.services import accounts
    from core.services.submissions import new_token
    with app.app_context():
        accounts.create_user(email="bench-officer@microstart.test", name="Bench Officer", role="officer",
                             institution_id=institution_id, password="ledger harbour violet", preferred_language="fr")
    client = app.test_client()
    token = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    csrf = token.search(client.get("/login").get_data(as_text=True)).group(1)
    signed = client.post("/login", data={"email": "bench-officer@microstart.test",
                                         "password": "ledger harbour violet", "csrf_token": csrf})
    assert signed.status_code == 302, signed.status_code
    a_year_ago = (date.today() - timedelta(days=365)).isoformat()
    for path in ("/loans/late", f"/loans/late?on={a_year_ago}", "/loans/quality", f"/loans/quality?on={a_year_ago}"):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        samples = timed(lambda: client.get(path), runs)
        print(f"GET {path}: p95 {p95(samples):.0f} ms, median {statistics.median(samples):.0f} ms, "
              f"{len(answer.data) // 1024} KiB")
    rng = random.Random(12)
    csrf = token.search(client.get(f"/loans/{active[0]}").get_data(as_text=True)).group(1)

    def pay():
        submission = new_token()
        answer = client.post(f"/loans/{rng.choice(active)}/payments", data={
            "paid_on": date.today().isoformat(), "amount": "10,00", "submission": submission, "csrf_token": csrf})
        assert answer.status_code == 303, answer.status_code

    samples = timed(pay, 30)
    print(f"POST a payment (HTTP form): p95 {p95(samples):.0f} ms, median {statistics.median(samples):.0f} ms")


if __name__ == "__main__":
    main()
