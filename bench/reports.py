"""Impact and portfolio reports over 100,000 loans.

    .venv/bin/python bench/reports.py                      # SQLite file in bench/out/
    MICROFIN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/microfin_reports_bench \\
        .venv/bin/python bench/reports.py                  # PostgreSQL (the database is recreated)

Generates ``--loans`` loans (default 100,000; ``--compare 100,1000`` measures two sizes side by side), one client each, spread over the four institutions,
with bulk inserts: clients with their intake attributes, annuity schedules of 12, 24 or 36 months
(amounts from ``core.services.schedules``), and one to three payments per loan (some loans fall
behind, a few are written off). Then times, ``--runs`` times each (median and worst): the impact
report of the sector and of one institution, the portfolio quality at a date, and the whole
portfolio report (twelve month ends of trend). Not a test: figures depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from types import SimpleNamespace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTORS = ("horeca", "retail", "services", "care", "transport", "construction", "other")
POSTAL = {"1000": ("brussels", "BRU"), "9000": ("flanders", "VOV"), "2000": ("flanders", "VAN"),
          "5000": ("wallonia", "WNA"), "4000": ("wallonia", "WLG"), "1070": ("brussels", "BRU")}
TODAY = date(2026, 6, 30)
BATCH = 20_000


def database_url() -> str:
    from bench.common import database_url as fresh

    return fresh("reports")


class Writer:
    """Buffers rows per table and inserts them in batches."""

    def __init__(self):
        self.rows: dict = {}

    def add(self, model, row: dict) -> None:
        batch = self.rows.setdefault(model, [])
        batch.append(row)
        if len(batch) >= BATCH:
            self.flush()  # every table, parents first (the order they were first added in)

    def flush(self) -> None:
        from sqlalchemy import insert

        from core.extensions import db

        for key in list(self.rows):
            if self.rows.get(key):
                db.session.execute(insert(key), self.rows[key])
                self.rows[key] = []


def generate(count: int, institution_ids: list[int]) -> float:
    from core.extensions import db
    from core.models.lending import LedgerEntry, Loan, ScheduleLine
    from core.models.people import Client
    from core.models.positions import LoanPosition
    from core.models.types import utcnow
    from core.services import positions
    from core.services.schedules import add_months, build_schedule, loan_terms

    rng = random.Random(2026)
    started = time.perf_counter()
    now = utcnow()
    shapes: dict = {}
    writer = Writer()
    ledger_id = 0
    for index in range(1, count + 1):
        institution_id = institution_ids[index % len(institution_ids)]
        postal = rng.choice(list(POSTAL))
        region, province = POSTAL[postal]
        birth = date(1960, 1, 1) + (date(2004, 1, 1) - date(1960, 1, 1)) * rng.random()
        sector = rng.choice(SECTORS)
        writer.add(Client, dict(
            id=index, institution_id=institution_id, version=1, status="active", first_name="Bench",
            last_name=f"Client {index}", birth_date=birth, gender="female", postal_code=postal, region=region,
            province=province, preferred_language="fr", disability=False, sector=sector, stage="starter",
            sort_key=f"client {index}", first_name_key="bench", intake_gender=rng.choice(("female", "male")),
            intake_born_abroad=rng.random() < 0.4, intake_age_group="30_to_49",
            intake_low_educated=rng.random() < 0.3, intake_job_seeker=rng.random() < 0.5,
            intake_disability=rng.random() < 0.05, created_at=now))
        principal = Decimal(rng.randrange(1000, 25001, 500))
        term = rng.choice((12, 24, 36))
        disbursed = date(2022, 1, 1) + (date(2026, 6, 1) - date(2022, 1, 1)) * rng.random()
        disbursed = disbursed.replace(day=min(disbursed.day, 28))
        shape = shapes.get((principal, term))
        if shape is None:
            schedule = build_schedule(loan_terms(principal, "0.09", term, date(2026, 1, 1)))
            shape = shapes[(principal, term)] = [(i.principal, i.interest) for i in schedule.instalments]
        honour = Decimal(rng.choice((0, 0, 0, 2000, 5000)))
        due_dates = [add_months(disbursed, n) for n in range(1, term + 1)]
        paid_count = sum(1 for d in due_dates if d <= TODAY)
        behind = rng.random() < 0.15
        if behind:
            paid_count = max(0, paid_count - rng.randint(1, 6))
        written_off = behind and rng.random() < 0.2 and paid_count < term
        all_paid = paid_count == term and not written_off
        status = "written_off" if written_off else ("repaid" if all_paid else "active")
        closed_on = TODAY if written_off else (due_dates[-1] if all_paid else None)
        writer.add(Loan, dict(
            id=index, institution_id=institution_id, version=1, client_id=index, status=status,
            product_code="STD", principal=principal, term_months=term, annual_rate=Decimal("9"),
            honour_loan=honour, disbursed_on=disbursed, schedule_version=1, closed_on=closed_on,
            created_at=now))
        lines = [dict(loan_id=index, institution_id=institution_id, version=1, kind="microloan", number=number,
                      due_date=due, principal=p, interest=i, fees=Decimal("0"))
                 for number, ((p, i), due) in enumerate(zip(shape, due_dates), start=1)]
        cuts = []
        if paid_count:  # one to three payments, the last one paying up to instalment ``paid_count``
            cuts = sorted(rng.sample(range(1, paid_count), min(paid_count - 1, rng.randint(0, 2)))) + [paid_count]
        start, paid, last = 0, Decimal("0"), None
        for cut in cuts:
            amount = sum(p + i for p, i in shape[start:cut])
            paid, last = paid + amount, due_dates[cut - 1]
            ledger_id += 1
            writer.add(LedgerEntry, dict(id=ledger_id, institution_id=institution_id, loan_id=index,
                                         kind="payment", amount=amount, value_date=due_dates[cut - 1],
                                         source="import", created_at=now))
            start = cut
        if written_off:
            ledger_id += 1
            rest = sum(p for p, _ in shape[start:])
            writer.add(LedgerEntry, dict(id=ledger_id, institution_id=institution_id, loan_id=index,
                                         kind="write_off", amount=rest, value_date=TODAY, source="import",
                                         created_at=now))
        # the stored position, as the portfolio import writes it (the payments' waterfall)
        loan = SimpleNamespace(id=index, institution_id=institution_id, status=status, closed_on=closed_on)
        summary = positions.import_rows(loan, lines, paid, last, TODAY)
        for line in lines:
            writer.add(ScheduleLine, line)
        writer.add(LoanPosition, summary)
    writer.flush()
    db.session.commit()
    from sqlalchemy import text

    for table in ("clients", "loans", "loan_schedule_lines", "loan_ledger", "loan_positions"):
        db.session.execute(text(f"ANALYZE {table}"))
    db.session.commit()
    return time.perf_counter() - started


def check_sample(institution_ids: list[int], count: int, size: int = 400) -> None:
    """The generated positions must be what the engine replays: ``positions.verify`` on a sample."""
    from core.services import positions
    from core.tenancy import acting_for

    rng = random.Random(7)
    sample = rng.sample(range(1, count + 1), min(size, count))
    found = []
    for institution_id in institution_ids:
        with acting_for(institution_id):
            found += positions.verify([i for i in sample if institution_ids[i % len(institution_ids)] == institution_id])
    print(f"verify on {len(sample)} sampled loans: {len(found)} difference(s)", found[:5])
    if found:
        raise SystemExit("the generated positions differ from the replay")


def timed(runs: int, work) -> tuple[float, float, object]:
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), max(timings), result


def measure(count: int, runs: int) -> dict:
    """A fresh database with ``count`` generated loans; each report timed. Returns the medians."""
    from sqlalchemy import func, select

    from core import create_app
    from core.cli import upgrade_database
    from core.extensions import db
    from core.models.lending import LedgerEntry, ScheduleLine
    from core.services.institutions import enabled_institutions
    from core.services.reports.common import Period, institution_scope, sector_scope
    from core.services.reports.impact import impact_report
    from core.services.reports.portfolio import portfolio_report, quality_at
    from core.tenancy import all_institutions

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(), "MICROFIN_DATA_KEY": "bench-data-key"})
    medians = {}
    with app.app_context():
        upgrade_database()
        ids = [row.id for row in enabled_institutions()]
        seconds = generate(count, ids)
        with all_institutions("bench counts"):
            lines = db.session.scalar(select(func.count()).select_from(ScheduleLine))
            entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        print(f"{db.engine.dialect.name}: generated {count:,} loans, {lines:,} schedule lines, "
              f"{entries:,} ledger entries in {seconds:.1f} s")
        check_sample(ids, count)
        year = Period(date(2025, 7, 1), TODAY)
        report = lambda: portfolio_report(sector_scope(), TODAY, year)  # noqa: E731
        cases = [
            ("impact, sector, all time", lambda: impact_report(sector_scope())),
            ("impact, sector, one year", lambda: impact_report(sector_scope(), year)),
            ("impact, one institution, all time", lambda: impact_report(institution_scope("microstart"))),
            ("portfolio quality (PAR30/90) at a date, sector", lambda: quality_at(sector_scope(), TODAY)),
            ("portfolio quality at a date, one institution",
             lambda: quality_at(institution_scope("microstart"), TODAY)),
            # the first report of a month computes and stores the closed month ends' snapshots that
            # the monthly chore had not written yet; every later one reads them
            ("portfolio report, sector, first (writes 12 snapshots)", report),
            ("portfolio report, sector (12 month ends of trend)", report),
        ]
        print(f"{'report':<58} {'median s':>9} {'worst s':>8}")
        for label, work in cases:
            median, worst, _ = timed(1 if "first" in label else runs, work)
            medians[label] = median
            print(f"{label:<58} {median:>9.3f} {worst:>8.3f}")
        figures = impact_report(sector_scope())
        print("sector financed:", figures["financed"], "PAR30 at", TODAY, quality_at(sector_scope(), TODAY).par30)
    with app.app_context():
        db.engine.dispose()
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", help="two loan counts, e.g. 100,1000: both measured in this run, "
                                          "then the ratio of each report's time")
    args = parser.parse_args()
    os.environ.setdefault("MICROFIN_INSTANCE_PATH", tempfile.mkdtemp(prefix="microfin-bench-"))
    if not args.compare:
        measure(args.loans, args.runs)
        return
    small, large = (int(n) for n in args.compare.split(","))
    first, second = measure(small, args.runs), measure(large, args.runs)
    print(f"\n{'report':<58} {small:>8,} {large:>8,}  ratio")
    for label in first:
        print(f"{label:<58} {first[label]:>8.3f} {second[label]:>8.3f}  {second[label] / first[label]:.1f}x")


if __name__ == "__main__":
    main()
