"""Stored positions at an institution's size: import, verify, the late list, PAR, booking a payment.

    nice -n 10 .venv/bin/python bench/lending_positions.py --rows 10000          # SQLite in bench/out/
    MICROFIN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/microfin_bench_positions \\
        nice -n 10 .venv/bin/python bench/lending_positions.py --rows 10000      # PostgreSQL

Imports ``--rows`` loans of microStart (bench/portfolio_csv.py, seeded; the import books every
instalment due before today on its due date), runs ``positions.verify`` (must find nothing), then
times ``positions.late`` and ``positions.quality`` (the services behind /loans/late and
/loans/quality) today and a year ago, and ``repayments.record_payment`` on random active loans.
Figures go in bench/RESULTS-lending.md.
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
            print(f"booking a payment: p95 {p95(booking):.0f} ms")
            print(f"verify after payments: {len(positions.verify())} difference(s)")


if __name__ == "__main__":
    main()
