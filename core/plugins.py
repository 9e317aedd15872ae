"""The plugins at run time: the state of the app's plugin manager, hook calls that contain
failures, and events.

One ``pluggy.PluginManager`` per app, built by ``core.plugin_loader.init_app`` in ``create_app``
and kept on ``app.extensions["microfin"]``; nothing is loaded at import time. This module sits low
(it imports only ``core.plugin_api``, the models and Flask), so any service may emit events.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pluggy
from flask import Flask, current_app

from sqlalchemy import select

from core.extensions import db
from core.models import Institution as InstitutionRow
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


def package_dir(module: object) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).parent if file and isinstance(module, ModuleType) else None


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
    slug = None if event.institution_id is None else slug_for_id(event.institution_id)
    call_contained("on_event", slug, everyone=event.institution_id is None, event=event)


def plugin_migration_dirs(app: Flask) -> list[str]:
    """The ``migrations/`` folder of every loaded plugin that owns tables."""
    dirs = []
    for name, plugin in state(app).pm.list_name_plugin():
        package = package_dir(plugin)
        if package and not name.startswith(BUILTIN_PREFIX) and (package / "migrations").is_dir():
            dirs.append(str(package / "migrations"))
    return sorted(dirs)


def slug_for_id(institution_id: int) -> str | None:
    """The slug of an institution id (cached per app and database)."""
    return _id_to_slug(current_app.config["SQLALCHEMY_DATABASE_URI"], institution_id)


def _lookup(institution_id: int) -> str | None:
    return db.session.scalar(select(InstitutionRow.slug).where(InstitutionRow.id == institution_id))


class _SlugCache:
    """A tiny cache keyed by (database, id); ids never change slug."""

    def __init__(self):
        self._data: dict[tuple[str, int], str] = {}

    def __call__(self, database: str, institution_id: int) -> str | None:
        key = (database, institution_id)
        if key not in self._data:
            slug = _lookup(institution_id)
            if slug is None:
                return None
            self._data[key] = slug
        return self._data[key]

    def cache_clear(self) -> None:
        self._data.clear()


_id_to_slug = _SlugCache()


def forget_institution_slugs() -> None:
    """Drop the id → slug cache (after institutions were synchronised with the plugins)."""
    _id_to_slug.cache_clear()
