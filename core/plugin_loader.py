"""Building the plugin manager of an app: entry points, the allow-list, built-in plugins, checks.

``init_app`` runs once in ``create_app``. It is the only module that imports the built-in plugins
(``core.builtin``), which reach into services and views; keeping it apart from ``core.plugins``
(the runtime: ``state``, ``emit``, ``call_contained``) lets services emit events without importing
the whole application back.
"""
from __future__ import annotations

import logging
from importlib.metadata import entry_points

import pluggy
from flask import Blueprint, Flask

from core import hookspecs
from core.extensions import migrate
from core.plugin_api import Institution
from core.plugin_translations import translation_directories
from core.plugins import (BUILTIN_PREFIX, ENTRY_POINT_GROUP, PluginError, PluginInfo, PluginState,
                          package_dir, plugin_migration_dirs)

log = logging.getLogger(__name__)


def _builtin_plugins() -> list[tuple[str, object]]:
    from core.builtin import (coaching, compliance_evidence, navigation, plugin_fields,
                              referral_events, web)

    return [("core.web", web), ("core.navigation", navigation), ("core.coaching", coaching),
            ("core.compliance_evidence", compliance_evidence), ("core.plugin_fields", plugin_fields),
            ("core.referral_events", referral_events)]


def _load_entry_points(pm: pluggy.PluginManager, allow: list[str], infos: dict[str, PluginInfo]):
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        info = infos.setdefault(ep.name, PluginInfo(name=ep.name))
        info.version = ep.dist.version if ep.dist else ""
        if allow and ep.name not in allow:
            continue
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin is reported, never fatal
            log.exception("plugin %s failed to import", ep.name)
            info.error = f"{type(exc).__name__}: {exc}"
            continue
        if pm.get_plugin(ep.name) is not None:
            raise PluginError(f"plugin {ep.name}: registered twice")
        pm.register(module, name=ep.name)
        info.enabled = True


def _describe(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
    for name, plugin in pm.list_name_plugin():
        info = infos.setdefault(name, PluginInfo(name=name, enabled=True, version="builtin"))
        info.hooks = sorted({caller.name for caller in pm.get_hookcallers(plugin) or []})
        package = package_dir(plugin)
        if package and not name.startswith(BUILTIN_PREFIX):
            if (package / "templates" / name).is_dir():
                info.templates = f"templates/{name}/"
            if (package / "migrations").is_dir():
                info.migrations = name


def _collect_institutions(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]):
    institutions: dict[str, Institution] = {}
    owners: dict[str, str] = {}
    for impl in pm.hook.register_institutions.get_hookimpls():
        for institution in impl.function() or []:
            if not isinstance(institution, Institution):
                raise PluginError(f"plugin {impl.plugin_name}: register_institutions returned "
                                  f"{institution!r}, not an Institution")
            problems = institution.problems()
            if problems:
                raise PluginError(f"plugin {impl.plugin_name}: institution {institution.slug!r}: "
                                  + "; ".join(problems))
            if institution.slug in institutions:
                raise PluginError(f"plugin {impl.plugin_name}: institution slug {institution.slug!r} "
                                  f"is already registered by plugin {owners[institution.slug]}")
            institutions[institution.slug] = institution
            owners[institution.slug] = impl.plugin_name
            infos[impl.plugin_name].institutions.append(institution.slug)
    return dict(sorted(institutions.items())), owners


def _register_blueprints(app: Flask, pm: pluggy.PluginManager) -> None:
    for impl in pm.hook.register_blueprints.get_hookimpls():
        for blueprint in impl.function() or []:
            if not isinstance(blueprint, Blueprint):
                raise PluginError(f"plugin {impl.plugin_name}: register_blueprints returned "
                                  f"{blueprint!r}, not a Blueprint")
            if impl.plugin_name.startswith(BUILTIN_PREFIX):
                app.register_blueprint(blueprint)
                continue
            if blueprint.name != impl.plugin_name:
                raise PluginError(f"plugin {impl.plugin_name}: blueprint {blueprint.name!r} must be "
                                  f"named after the plugin ({impl.plugin_name!r})")
            app.register_blueprint(blueprint, url_prefix=f"/i/{impl.plugin_name}")


def _provide_plugin_services() -> None:
    """The services behind core.plugin_api's doors (settings, extra fields, their forms)."""
    from core import plugin_api
    from core.services import plugin_fields, plugin_settings
    from core.web.typed_forms import form_for

    plugin_api.provide(settings=plugin_settings.effective, client_fields=plugin_fields.client_fields,
                       loan_fields=plugin_fields.loan_fields, form_for=form_for)


def init_app(app: Flask) -> PluginState:
    """Build the plugin manager for ``app``, check every plugin, register their blueprints."""
    _provide_plugin_services()
    pm = pluggy.PluginManager("microfin")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    _load_entry_points(pm, app.config["MICROFIN_PLUGINS"], infos)
    for name, plugin in app.config.get("MICROFIN_EXTRA_PLUGINS", []):
        pm.register(plugin, name=name)
        infos[name] = PluginInfo(name=name, enabled=True, version="extra")
    for name, plugin in _builtin_plugins():
        pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {pm.get_name(exc.plugin)}: {exc}") from exc
    _describe(pm, infos)
    institutions, owners = _collect_institutions(pm, infos)
    plugin_state = PluginState(pm=pm, infos=infos, institutions=institutions, owners=owners)
    app.extensions["microfin"] = plugin_state
    _register_blueprints(app, pm)
    _add_plugin_catalogues(app, pm)
    return plugin_state


def _add_plugin_catalogues(app: Flask, pm: pluggy.PluginManager) -> None:
    """Each loaded plugin's ``translations/`` before core's (core.plugin_translations)."""
    packages = [package_dir(plugin) for name, plugin in pm.list_name_plugin()
                if not name.startswith(BUILTIN_PREFIX)]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = translation_directories(sorted(filter(None, set(packages))))


@migrate.configure
def _add_plugin_branches(alembic_config):
    """Alembic reads core's revisions plus each loaded plugin's own branch (DESIGN: migrations)."""
    import os

    from flask import current_app

    core_versions = os.path.join(alembic_config.get_main_option("script_location"), "versions")
    locations = [core_versions, *plugin_migration_dirs(current_app)]
    alembic_config.set_main_option("version_locations", os.pathsep.join(locations))
    return alembic_config
