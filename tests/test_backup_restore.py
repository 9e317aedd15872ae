"""A tested restore (issue 14, docs/deploy.md "Backups and restore"): the documented backup of the
running database, restored into a new one, gives the app back every row, readable national numbers
(with the same data key) and loan positions that still equal their ledgers."""
from __future__ import annotations

import sqlite3
import subprocess
from datetime import date

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.engine import make_url

from core import create_app
from core.cli import upgrade_database
from core.extensions import db
from core.services import clients, positions
from core.tenancy import acting_for, all_institutions
from core.testing.database import postgres_database_for_worker, recreate_postgres_database
from tests.clients_data import make_client, national_number
from tests.conftest import base_config
from tests.loans_data import make_loan, pay



def _backup_and_restore(url: str, tmp_path) -> str:
    """The backup commands of docs/deploy.md, run against ``url``; returns the restored URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        backup = tmp_path / "backup.sqlite3"
        subprocess.run(["sqlite3", parsed.database, f".backup '{backup}'"], check=True)
        return f"sqlite:///{backup}"
    libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    dump = tmp_path / "microfin.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq], check=True)
    restored = postgres_database_for_worker(url, "restored")
    recreate_postgres_database(restored)
    target = make_url(restored).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}", str(dump)], check=True)
    return restored


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        counts = {t: connection.execute(select(func.count()).select_from(db.metadata.tables[t])).scalar()
                  for t in tables if t in db.metadata.tables}
    engine.dispose()
    return counts


def test_a_backup_restores_into_a_working_database(app, staff_a, tmp_path, monkeypatch):
    borrower = make_client(staff_a, first_name="Restored", last_name="Borrower")
    loan = make_loan(staff_a, borrower)
    pay(staff_a, loan, loan.disbursed_on.replace(month=loan.disbursed_on.month + 1), "250.00")
    db.session.commit()
    # As the owner (docs/deploy.md): row-level security refuses pg_dump to the application role.
    source = app.config.get("MICROFIN_MIGRATE_DATABASE_URL") or app.config["SQLALCHEMY_DATABASE_URI"]
    restored_url = _backup_and_restore(source, tmp_path)

    assert _row_counts(restored_url) == _row_counts(source)
    restored = create_app(base_config(restored_url))  # same instance folder: the same data key
    with restored.app_context():
        upgrade_database()  # at head already: nothing to do, nothing fails
        with acting_for(staff_a.institution_id):
            revealed = clients.reveal_national_number(borrower.id, user=staff_a.admin)
            assert revealed.replace(".", "").replace("-", "") == national_number(date(1985, 7, 30))
        with all_institutions("test: verify the restored positions"):
            assert positions.verify() == []
        db.session.remove()
        db.engine.dispose()
    if make_url(restored_url).get_backend_name() == "sqlite":
        with sqlite3.connect(make_url(restored_url).database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
