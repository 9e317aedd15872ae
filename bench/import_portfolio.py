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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from bench.common import import_microstart_portfolio
    from core.extensions import db
    from core.models import ScheduleLine
    from core.tenancy import acting_for

    app, institution_id, result, elapsed, url = import_microstart_portfolio("import", args.rows)
    with app.app_context(), acting_for(institution_id):
        lines = db.session.scalar(select(func.count()).select_from(ScheduleLine))
    print(f"{url.split(':')[0]}: imported {result.rows} rows ({result.clients} clients, {result.loans} loans, "
          f"{lines} schedule lines, {len(result.errors)} errors) in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
