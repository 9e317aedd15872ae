"""What every bench shares: a fresh database, SQLite by default or PostgreSQL when asked."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def database_url(name: str, *, reuse: bool = False) -> str:
    """``MICROFIN_BENCH_DATABASE_URL`` (PostgreSQL, dropped and created unless ``reuse``), else the
    SQLite file ``bench/out/<name>.sqlite3`` (deleted first unless ``reuse``)."""
    url = os.environ.get("MICROFIN_BENCH_DATABASE_URL")
    if url:
        if not reuse:
            from core.testing.database import recreate_postgres_database

            recreate_postgres_database(url)
        return url
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.sqlite3"
    if path.exists() and not reuse:
        path.unlink()
    return f"sqlite:///{path}"


def import_microstart_portfolio(name: str, rows: int):
    """A fresh database ``name`` (see ``database_url``) with ``rows`` seeded loans imported for
    microStart through ``portfolio_writer.import_portfolio``, timed.

    Returns ``(app, institution_id, result, seconds, url)``; reopen ``app.app_context()`` and
    ``acting_for(institution_id)`` to look at what was imported.
    """
    import time

    from bench.portfolio_csv import write
    from core import create_app
    from core.cli import upgrade_database
    from core.services import portfolio_writer
    from core.services.institutions import by_slug
    from core.tenancy import acting_for

    csv_path = ROOT / "bench" / "out" / f"{name}.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write(csv_path, rows)
    url = database_url(name)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MICROFIN_DATA_KEY": "bench-data-key"})
    with app.app_context():
        upgrade_database()
        institution_id = by_slug("microstart").id
        with acting_for(institution_id):
            started = time.perf_counter()
            with csv_path.open(encoding="utf-8", newline="") as handle:
                result = portfolio_writer.import_portfolio(handle)
            seconds = time.perf_counter() - started
    return app, institution_id, result, seconds, url
