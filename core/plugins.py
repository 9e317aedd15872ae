"""The plugin manager: entry-point loading, the allow-list, checks, and the institution registry.

One ``pluggy.PluginManager`` per app, built in ``create_app`` and kept on
``app.extensions["microfin"]``; nothing is loaded at import time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pluggy
from flask import Blueprint, Flask, current_app

from core import hookspecs
from core.plugin_api import Event, Institution

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "microfin.plugins"
BUILTIN_PREFIX = "core."


class PluginError(RuntimeError):
    """A plugin contributed something core refuses; the message names the plugin and the problem."""


@dataclass
class PluginInfo:
    """What ``microfin plugins`` reports about one installed plugin."""

    name: str
    version: str = ""
    enabled: bool = False
    error: str = ""
    hooks: list[str] = field(default_factory=list)
    institutions: list[str] = field(default_factory=list)
    templates: str = ""
    migrations: str = ""


@dataclass
class PluginState:
    """Everything the app knows about its plugins; lives on ``app.extensions["microfin"]``."""

    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo]
    institutions: dict[str, Institution]
    owners: dict[str, str]  # institution slug -> plugin name

    def institution(self, slug: str | None) -> Institution | None:
        return self.institutions.get(slug) if slug else None

    def scoped_hook(self, name: str, slug: str | None):
        """A caller for hook ``name`` that reaches core and only the plugin owning ``slug``."""
        others = [
            self.pm.get_plugin(owner)
            for inst_slug, owner in self.owners.items()
            if inst_slug != slug
        ]
        return self.pm.subset_hook_caller(name, remove_plugins=[p for p in others if p is not None])


def state(app: Flask | None = None) -> PluginState:
    """The plugin state of ``app`` (default: the current app)."""
    return (app or current_app).extensions["microfin"]


def _builtin_plugins() -> list[tuple[str, object]]:
    from core.builtin import (coaching, compliance_evidence, navigation, plugin_fields,
                              referral_events, web)

    return [("core.web", web), ("core.navigation", navigation), ("core.coaching", coaching),
            ("core.compliance_evidence", compliance_evidence), ("core.plugin_fields", plugin_fields),
            ("core.referral_events", referral_events)]


def _package_dir(module: object) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).parent if file and isinstance(module, ModuleType) else None


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
        package = _package_dir(plugin)
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


def init_app(app: Flask) -> PluginState:
    """Build the plugin manager for ``app``, check every plugin, register their blueprints."""
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
    return plugin_state


def call_contained(name: str, slug: str | None, *, everyone: bool = False, **kwargs) -> list:
    """Call a contribute or observe hook for core and ``slug``'s plugin, containing failures.

    Each implementation is called on its own; one that raises is logged with its plugin's name
    and skipped, so a broken widget or listener never takes a page or a write down.
    """
    plugin_state = state()
    caller = getattr(plugin_state.pm.hook, name) if everyone else plugin_state.scoped_hook(name, slug)
    results = []
    for impl in reversed(caller.get_hookimpls()):
        try:
            result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception:
            log.exception("plugin %s failed in %s", impl.plugin_name, name)
            continue
        if result is not None:
            results.append(result)
    return results


def emit(event: Event) -> None:
    """Tell ``on_event`` implementations about a committed change (tenant events: core and the
    owning institution's plugin only)."""
    slug = None
    if event.institution_id is not None:
        from core.services.institutions import slug_for_id

        slug = slug_for_id(event.institution_id)
    call_contained("on_event", slug, everyone=event.institution_id is None, event=event)


def plugin_migration_dirs(app: Flask) -> list[str]:
    """The ``migrations/`` folder of every loaded plugin that owns tables."""
    dirs = []
    for name, plugin in state(app).pm.list_name_plugin():
        package = _package_dir(plugin)
        if package and not name.startswith(BUILTIN_PREFIX) and (package / "migrations").is_dir():
            dirs.append(str(package / "migrations"))
    return sorted(dirs)
