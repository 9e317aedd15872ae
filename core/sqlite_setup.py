"""SQLite, made fit for several workers: every connection in WAL mode (readers never wait for a
writer) with a busy timeout (a second writer waits instead of failing at once), and the database
file readable by its owner only (0600): it holds personal data."""
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
