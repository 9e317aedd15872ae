"""Portfolio import, end to end: 10,000 rows checked, then written in one transaction.

    .venv/bin/python bench/import_portfolio.py                      # SQLite file in bench/out/
    MICROFIN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/microfin_bench_import \\
        .venv/bin/python bench/import_portfolio.py                  # PostgreSQL (database recreated)

Writes the file with ``bench/portfolio_csv.py`` (seeded), migrates a fresh database, then times
``portfolio_writer.import_portfolio`` for microStart: reading, every check, clients, loans,
schedule lines, the ledger entries of repaid loans, one commit. Not a test: figures depend on
the machine; they go in bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def database_url() -> str:
    from bench.common import database_url as fresh

    return fresh("import")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from bench.portfolio_csv import write
    from core import create_app
    from core.cli import upgrade_database
    from core.extensions import db
    from core.models import ScheduleLine
    from core.services import portfolio_writer
    from core.services.institutions import by_slug
    from core.tenancy import acting_for

    csv_path = ROOT / "bench" / "out" / "portfolio.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write(csv_path, args.rows)
    url = database_url()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MICROFIN_DATA_KEY": "bench-data-key"})
    with app.app_context():
        upgrade_database()
        institution = by_slug("microstart")
        with acting_for(institution.id):
            started = time.perf_counter()
            with csv_path.open(encoding="utf-8", newline="") as handle:
                result = portfolio_writer.import_portfolio(handle)
            elapsed = time.perf_counter() - started
            lines = db.session.scalar(select(func.count()).select_from(ScheduleLine))
        print(f"{url.split(':')[0]}: imported {result.rows} rows ({result.clients} clients, {result.loans} loans, "
              f"{lines} schedule lines, {len(result.errors)} errors) in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
