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
config.set_main_option(
    "sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
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
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
