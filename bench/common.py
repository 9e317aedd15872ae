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
