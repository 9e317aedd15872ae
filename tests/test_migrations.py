"""Migrations and models agree, on SQLite and on PostgreSQL; branches stay tidy."""
import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from core import create_app
from core.extensions import db, migrate
from core.testing.database import ENV_URL, postgres_database_for_worker, recreate_postgres_database
from tests.conftest import base_config


def _script(app):
    config = migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"write a migration: {diff}"


def test_every_branch_has_one_head_and_core_never_depends_on_a_plugin(app):
    script = _script(app)
    heads = script.get_revisions("heads")
    labels = [label for head in heads for label in (head.branch_labels or set())]
    for revision in script.walk_revisions():
        if "core" in (revision.branch_labels or ()) or revision.module.__file__.startswith(
                os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")):
            assert not revision.dependencies, f"core revision {revision.revision} depends on a plugin"
    core_heads = [h for h in heads if "migrations/versions" in h.module.__file__]
    assert len(core_heads) == 1, f"core has {len(core_heads)} heads: merge them"
    assert len(labels) == len(set(labels))


def test_downgrade_to_base_and_upgrade_again(tmp_path, monkeypatch):
    url = os.environ.get(ENV_URL)
    if url:
        url = postgres_database_for_worker(url, "roundtrip")
        recreate_postgres_database(url)
    else:
        url = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    app = create_app(base_config(url))
    with app.app_context():
        upgrade(revision="heads")
        assert "users" in inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(revision="heads")
        assert "users" in inspect(db.engine).get_table_names()
        db.engine.dispose()
