"""SQLite, made fit for several workers: every connection in WAL mode (readers never wait for a
writer) with a busy timeout (a second writer waits instead of failing at once), and the database
file readable by its owner only (0600): it holds personal data. Its query planner is given table
statistics (``refresh_statistics``), which it has no other way to learn."""
from __future__ import annotations

import os
import stat

from flask import Flask
from sqlalchemy import event


def install(app: Flask) -> None:
    """Set the pragmas on each new connection of the app's SQLite engine (nothing for PostgreSQL)."""
    from core.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_ms = int(app.config["MICROFIN_SQLITE_BUSY_TIMEOUT"]) * 1000
    path = engine.url.database

    @event.listens_for(engine, "connect")
    def _on_connect(connection, _record):
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
        _owner_only(path)


def _owner_only(path: str | None) -> None:
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            if stat.S_IMODE(os.stat(name).st_mode) != 0o600:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            continue
        except PermissionError:  # not ours to change (a shared file): leave it
            continue


def refresh_statistics() -> str:
    """Give SQLite's query planner fresh table statistics (``ANALYZE``, sampling at most 400 rows
    per index, so milliseconds even on a large file); nothing on PostgreSQL, whose autovacuum does
    it. Without statistics SQLite picked the institution index over the loan index to read one
    loan's ledger, which made booking a payment twice as slow at 10,000 loans. Run after
    migrations, after a portfolio import and by the daily ``database-statistics`` chore."""
    from sqlalchemy import text

    from core.extensions import db

    if db.engine.dialect.name != "sqlite":
        return "not needed on " + db.engine.dialect.name
    db.session.execute(text("PRAGMA analysis_limit = 400"))
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return "analysed"
