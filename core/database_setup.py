"""The database connections, set up for this application.

PostgreSQL: JIT compilation off on every connection. Its cost threshold is reached by the
portfolio queries' estimates, and compiling took 630 ms of an 825 ms late list at 10,000 loans
for a query that runs in 190 ms; an OLTP application gains nothing from it.

SQLite, made fit for several workers: every connection in WAL mode (readers never wait for a
writer) with a busy timeout (a second writer waits instead of failing at once), and the database
file readable by its owner only (0600): it holds personal data. Its query planner is given table
statistics (``refresh_statistics``, for PostgreSQL too), which it has no other way to learn."""
from __future__ import annotations

import os
import stat

from flask import Flask
from sqlalchemy import event


def install(app: Flask) -> None:
    """Set up each new connection of the app's engine: SQLite's pragmas, PostgreSQL's JIT off."""
    from core.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _no_jit(connection, _record):
            cursor = connection.cursor()
            cursor.execute("SET jit = off")
            cursor.close()
            connection.commit()
        return
    if engine.dialect.name != "sqlite":
        return
    busy_ms = int(app.config["MICROFIN_SQLITE_BUSY_TIMEOUT"]) * 1000
    path = engine.url.database
    _create_owner_only(path)

    @event.listens_for(engine, "connect")
    def _on_connect(connection, _record):
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
        _owner_only(path)


def _create_owner_only(path: str | None) -> None:
    """Create the database file empty with mode 600 before SQLite does (with the umask's mode), so
    it is never readable by others, not even until the first connection's chmod below."""
    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError, PermissionError):
        return  # another worker made it, or its folder is missing: SQLite will say so


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
    """Give the database's query planner fresh table statistics. SQLite has no other way to learn
    them: a full ``ANALYZE`` (0.3 s on a 100 MB file of 10,000 loans; a sampled one, with
    ``analysis_limit``, misjudged the institution index and made the late list's sums 50 times
    slower). PostgreSQL's autovacuum would, but it may be off (it is on the CI machine) or not
    have run yet after a bulk import: a plain ``ANALYZE`` (sampled, about a second at 2 million
    schedule lines). Without statistics SQLite read one loan's ledger by the institution index
    (booking a payment twice as slow at 10,000 loans) and PostgreSQL nested the late list over
    every line of the institution (130 s instead of 0.2 s). Run after migrations, after a
    portfolio import and by the daily ``database-statistics`` chore."""
    from sqlalchemy import text

    from core.extensions import db

    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return f"analysed ({db.engine.dialect.name})"
