"""PostgreSQL row-level security (issue 14, migration rls_01): the second line of defence.

The application's role (tests/conftest.py: ``database_url``, a role that owns no table) is
connected here with plain engines, without the app's session events, so only the database
decides: no setting reads nothing, an institution's setting reads and writes that institution's
rows only, and the narrow scopes reach their tables only. SQLite has no row-level security: these
tests are skipped there; the CI's PostgreSQL run must run them (they fail there when the
application role is switched off)."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from core.cli import main
from core.extensions import db
from core.tenancy import TenantOwned, TenantScoped, acting_for
from tests.clients_data import make_client
from tests.loans_data import make_loan


@pytest.fixture
def pg(app, database_url, owner_database_url):
    """(application role engine, owner engine) on the test database; PostgreSQL only."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no row-level security")
    if database_url == owner_database_url:
        message = "the PostgreSQL tests run without the application role (MICROFIN_TEST_APP_ROLE=none)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    engines = create_engine(database_url), create_engine(owner_database_url)
    yield engines
    for engine in engines:
        engine.dispose()


def _tenant_tables() -> dict[str, bool]:
    """Every tenant model's table -> whether its institution is required (TenantOwned)."""
    return {mapper.class_.__tablename__: issubclass(mapper.class_, TenantOwned)
            for mapper in db.Model.registry.mappers if issubclass(mapper.class_, TenantScoped)}


def _set(connection, institution: str = "", scope: str = "") -> None:
    connection.execute(text("SELECT set_config('microfin.institution_id', :i, true), "
                            "set_config('microfin.scope', :s, true)"), {"i": institution, "s": scope})


def _count(connection, table: str, where: str = "") -> int:
    return connection.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar()


@pytest.fixture
def two_institutions(app, staff_a, staff_b):
    """A client in each institution, and a loan (its schedule, ledger, position) in A's, committed."""
    for staff in (staff_a, staff_b):
        make_client(staff, first_name="Rls", last_name=staff.slug.title())
    make_loan(staff_a)
    db.session.commit()
    return staff_a, staff_b


def test_every_tenant_table_has_row_level_security_enabled_and_forced(pg):
    _app_engine, owner = pg
    with owner.connect() as connection:
        rows = dict(connection.execute(text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).all())
        policies = {(t, p) for t, p in connection.execute(text(
            "SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'public'"))}
    tables = _tenant_tables()
    assert len(tables) >= 35
    missing = sorted(t for t in tables if not rows.get(t))
    assert not missing, f"tenant tables without forced row-level security: {missing}"
    for table in tables:
        assert (table, "microfin_tenant") in policies and (table, "microfin_system") in policies, table


def test_the_application_role_owns_nothing_and_cannot_bypass_row_level_security(pg):
    app_engine, _owner = pg
    with app_engine.connect() as connection:
        role = connection.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        owned = connection.execute(text(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user) AND relnamespace = 'public'::regnamespace")).scalar()
    assert tuple(role) == (False, False)
    assert owned == 0


def test_without_the_setting_the_application_role_reads_nothing(pg, two_institutions):
    app_engine, owner = pg
    with owner.connect() as connection:
        stored = {table: _count(connection, table) for table in _tenant_tables()}
    assert all(stored[t] > 0 for t in ("clients", "loans", "loan_schedule_lines", "loan_positions", "users"))
    with app_engine.connect() as connection:
        seen = {table: _count(connection, table) for table in _tenant_tables()}
        assert connection.execute(text("UPDATE clients SET first_name = 'Changed'")).rowcount == 0
        assert connection.execute(text("DELETE FROM loan_ledger")).rowcount == 0
        connection.commit()
    assert seen == {table: 0 for table in seen}
    with owner.connect() as connection:
        assert _count(connection, "clients", "WHERE first_name = 'Changed'") == 0
        assert _count(connection, "loan_ledger") == stored["loan_ledger"]


def test_an_institutions_setting_reads_and_writes_its_own_rows_only(pg, two_institutions):
    staff_a, staff_b = two_institutions
    app_engine, owner = pg
    with owner.connect() as connection:
        own = {table: _count(connection, table, f"WHERE institution_id = {staff_a.institution_id}")
               for table in _tenant_tables()}
    with app_engine.connect() as connection:
        _set(connection, str(staff_a.institution_id))
        seen = {table: _count(connection, table) for table in _tenant_tables()}
        assert seen == own
        assert connection.execute(text(
            "UPDATE clients SET first_name = 'Moved' WHERE institution_id = :b"),
            {"b": staff_b.institution_id}).rowcount == 0
        connection.commit()

    with app_engine.connect() as connection:
        _set(connection, str(staff_a.institution_id))
        with pytest.raises(DBAPIError, match="row-level security"):
            connection.execute(text("INSERT INTO plugin_settings (institution_id, key, value, updated_at) "
                                    "VALUES (:b, 'rls_test', '1', now())"), {"b": staff_b.institution_id})
        connection.rollback()
    with app_engine.connect() as connection:
        _set(connection, str(staff_a.institution_id))
        with pytest.raises(DBAPIError, match="row-level security"):  # moving a row out: WITH CHECK
            connection.execute(text("UPDATE clients SET institution_id = :b"), {"b": staff_b.institution_id})
        connection.rollback()

    with app_engine.connect() as connection:  # the setting ends with its transaction
        _set(connection, str(staff_a.institution_id))
        connection.commit()
        assert _count(connection, "clients") == 0
    with owner.connect() as connection:
        assert _count(connection, "plugin_settings", "WHERE key = 'rls_test'") == 0
        assert _count(connection, "clients", "WHERE first_name = 'Moved'") == 0
        assert _count(connection, "clients", f"WHERE institution_id = {staff_b.institution_id}") == 1
        assert _count(connection, "clients", f"WHERE institution_id = {staff_a.institution_id}") == 2


def test_the_crossing_scopes_reach_their_own_tables_only(pg, two_institutions):
    app_engine, owner = pg
    with owner.connect() as connection:
        clients = _count(connection, "clients")
    with app_engine.connect() as connection:
        _set(connection, scope="registry")  # routing: offers and settings, never client files
        assert _count(connection, "clients") == 0 and _count(connection, "loans") == 0
        assert _count(connection, "users") == 0
        _set(connection, scope="federation")  # compliance: submitted assessments, no client files
        assert _count(connection, "clients") == 0 and _count(connection, "loan_ledger") == 0
        _set(connection, scope="report")  # the sector reports read, never write
        assert _count(connection, "clients") == clients
        assert connection.execute(text("UPDATE clients SET first_name = 'Report'")).rowcount == 0
        _set(connection, scope="anything else")
        assert _count(connection, "clients") == 0
        _set(connection, scope="system")  # the worker, the CLI, sign-in
        assert _count(connection, "clients") == clients
        connection.rollback()


def test_the_federation_never_reads_a_draft_assessment(pg, staff_a):
    from tests.compliance_helpers import answer_all, load, new_assessment, submit

    catalogue = load([("1.1", "1", True, "all")])
    draft = new_assessment(staff_a, catalogue)
    db.session.commit()
    app_engine, _owner = pg
    with app_engine.connect() as connection:
        _set(connection, scope="federation")
        assert _count(connection, "compliance_assessments") == 0
        connection.rollback()
    answer_all(staff_a, draft, {"1.1": "met"})
    submit(staff_a, draft)
    db.session.commit()
    with app_engine.connect() as connection:
        _set(connection, scope="federation")
        assert _count(connection, "compliance_assessments") == 1
        with pytest.raises(DBAPIError, match="row-level security"):
            connection.execute(text("UPDATE compliance_assessments SET status = 'draft'"))  # WITH CHECK
        connection.rollback()


def test_the_app_reads_through_row_level_security(app, pg, two_institutions):
    """The app's own sessions carry the setting: a service reads its institution's clients."""
    from sqlalchemy import func, select

    from core.models import Client

    staff_a, _staff_b = two_institutions
    with acting_for(staff_a.institution_id):
        assert db.session.scalar(select(func.count()).select_from(Client)) == 2
        setting = db.session.execute(text("SELECT current_setting('microfin.institution_id', true)")).scalar()
    assert setting == str(staff_a.institution_id)
    db.session.commit()
    assert db.session.execute(text("SELECT current_setting('microfin.institution_id', true)")).scalar() in ("", None)


def test_db_grant_gives_the_application_role_rows_and_sequences(app, runner, pg):
    from sqlalchemy.engine import make_url

    app_engine, owner = pg
    role = make_url(str(app_engine.url)).username
    result = runner.invoke(main, ["db", "grant", role])
    assert result.exit_code == 0, result.output
    assert f"granted the tables' rows and sequences to {role}" in result.output
    with owner.connect() as connection:
        granted = connection.execute(text(
            "SELECT has_table_privilege(:r, 'clients', 'SELECT, INSERT, UPDATE, DELETE'), "
            "has_table_privilege(:r, 'clients', 'TRUNCATE'), "
            "has_sequence_privilege(:r, 'clients_id_seq', 'USAGE')"), {"r": role}).one()
    assert tuple(granted) == (True, False, True)  # rows, not the table itself


def test_db_grant_on_sqlite_says_roles_are_postgresqls(app, runner):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    result = runner.invoke(main, ["db", "grant", "microfin_app"])
    assert result.exit_code != 0
    assert "row-level security and roles are PostgreSQL's; SQLite needs neither" in result.output
