"""Alembic environment shared by core and every plugin branch (DESIGN.md: migrations).

``-x plugin=<slug>`` limits autogenerate to that plugin's ``<slug>_*`` tables; without it,
autogenerate sees only core's tables.
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
# The owner's URL when one is set (MICROFIN_MIGRATE_DATABASE_URL): the app's role owns no table.
_owner_url = current_app.config.get("MICROFIN_MIGRATE_DATABASE_URL")
config.set_main_option(
    "sqlalchemy.url", (_owner_url or target_db.engine.url.render_as_string(hide_password=False)).replace("%", "%%")
)


def _plugin_prefixes() -> list[str]:
    from core.plugins import state

    return [f"{name}_" for name, _ in state(current_app).pm.list_name_plugin()
            if not name.startswith("core.")]


def include_object(obj, name, type_, reflected, compare_to):
    """Autogenerate looks at one owner's tables only: core's, or the named plugin's."""
    if type_ != "table":
        return True
    plugin = context.get_x_argument(as_dictionary=True).get("plugin")
    if plugin:
        return name.startswith(f"{plugin}_")
    return not any(name.startswith(prefix) for prefix in _plugin_prefixes())


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args["include_object"] = include_object
    from sqlalchemy import create_engine

    engine = create_engine(_owner_url) if _owner_url else target_db.engine
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # Row-level security is forced on the owner too: a data migration sees every
                    # institution's rows (rls_01; transaction-local, as the app's settings).
                    connection.exec_driver_sql("SELECT set_config('microfin.scope', 'system', true)")
                context.run_migrations()
    finally:
        if _owner_url:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
