"""The database connections, set up for this application.

PostgreSQL: the tenant context of every transaction for row-level security (``install_rls``), and
JIT compilation off on every connection. Its cost threshold is reached by the
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
        install_rls(engine)
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


# --- row-level security (PostgreSQL) ---------------------------------------------------------------
#
# The policies (migration rls_01) compare each row's institution_id with the transaction-local
# setting ``microfin.institution_id``, and let the tenant crossings through by ``microfin.scope``.
# Both are written with set_config(..., is_local => true) from ``core.tenancy.database_setting()``:
# at every transaction begin (ORM sessions and plain connections alike), and again before an ORM
# statement or flush when the context changed inside the transaction (``all_institutions`` or
# ``acting_for`` entered mid-way). A local setting ends with its transaction, so a pooled
# connection never carries one tenant's setting into the next transaction.

RLS_INFO = "microfin_rls"
_SET = ("SELECT set_config('microfin.institution_id', %s, true), "
        "set_config('microfin.scope', %s, true), set_config('microfin.user_id', %s, true)")


def install_rls(engine) -> None:
    """Write the tenant context into each transaction of ``engine`` (PostgreSQL)."""
    from sqlalchemy.orm import Session

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # psycopg opens the transaction with this statement; SQLAlchemy's BEGIN is the same one
        _write_setting(connection, _desired())

    @event.listens_for(engine, "rollback_savepoint")
    def _on_rollback_savepoint(connection, _name, _context):
        connection.info.pop(RLS_INFO, None)  # a rolled-back savepoint undoes a set_config in it

    if not event.contains(Session, "do_orm_execute", _sync_orm_execute):
        event.listen(Session, "do_orm_execute", _sync_orm_execute)
        event.listen(Session, "before_flush", _sync_flush)


def _desired() -> tuple[str, str, str]:
    from core.tenancy import database_setting

    return database_setting()


#: The setting of the statements reloading an object the session holds (see ``_sync_orm_execute``).
REFRESH = ("", "refresh", "")


def _sync(session, setting=None) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    connection = session.connection()
    setting = setting or _desired()
    if connection.info.get(RLS_INFO) != setting:
        _write_setting(connection, setting)


def _write_setting(connection, setting: tuple[str, str, str]) -> None:
    """``set_config`` of the tenant context on ``connection``, remembered on it. On the DBAPI
    cursor: part of the transaction's set-up, not one of the app's statements (executing through
    the connection at begin would begin again; SQLAlchemy's statement events, and the tests
    counting them, see none)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_SET, setting)
    finally:
        cursor.close()
    connection.info[RLS_INFO] = setting


def _sync_orm_execute(state) -> None:
    # Reloading the expired columns of an object the session already holds (after a commit, by its
    # primary key) is not filtered by the ORM scoping either: the object was loaded, or created,
    # under a context that could see it. Those statements alone read under the ``refresh`` scope.
    # The setting is put back at once: the unit of work's own statements (an UPDATE after it loaded
    # an expired version column) pass no event before they run.
    # A statement run with the ``microfin_all_institutions`` option (core.tenancy) crosses alone,
    # under the ``system`` scope.
    if state.is_column_load:
        alone = REFRESH
    elif state.execution_options.get("microfin_all_institutions"):
        alone = ("", "system", "")
    else:
        alone = None
    if alone is None or state.session.get_bind().dialect.name != "postgresql":
        _sync(state.session)
        return None
    _sync(state.session, alone)
    try:
        frozen = state.invoke_statement().freeze()  # every row read before the setting changes back
    finally:
        _sync(state.session)
    return frozen()


def _sync_flush(session, _flush_context, _instances) -> None:
    _sync(session)


def grant_app_role(connection, role: str) -> None:
    """Give the application role ``role`` what it needs and nothing more, as the tables' owner:
    rows (select, insert, update, delete) of every table and the use of every sequence, now and
    for the tables later migrations create (default privileges of the owner running this). The
    role owns nothing, so row-level security always applies to it."""
    from sqlalchemy import text

    quoted = connection.dialect.identifier_preparer.quote(role)
    for statement in (
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}"):
        connection.execute(text(statement))


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

    owner = owner_engine()
    if owner is not None:  # only a table's owner may analyse it; the app's role owns none
        with owner.begin() as connection:
            connection.execute(text("ANALYZE"))
        owner.dispose()
        return f"analysed ({owner.dialect.name}, as the owner)"
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return f"analysed ({db.engine.dialect.name})"


def owner_engine():
    """An engine on ``MICROFIN_MIGRATE_DATABASE_URL`` (the tables' owner), or None when unset."""
    from flask import current_app
    from sqlalchemy import create_engine

    url = current_app.config.get("MICROFIN_MIGRATE_DATABASE_URL")
    return create_engine(url) if url else None
