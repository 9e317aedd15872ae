"""The only module institution plugins import from core.

Everything here is a stable, documented surface (see docs/plugins.md): the ``hookimpl`` marker,
the ``Institution`` base class plugins subclass, and the small value types hooks return.
Anything not re-exported here is core's internal business and may change without notice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import pluggy

from core.geo import Region, is_german_speaking, province_for_postal_code, region_for_postal_code
from core.web.access import public, roles_required

hookimpl = pluggy.HookimplMarker("microfin")

LANGUAGES = ("nl", "fr", "en")

__all__ = [
    "Event",
    "Evidence",
    "EvidenceContext",
    "EvidenceProvider",
    "Institution",
    "LANGUAGES",
    "MenuItem",
    "Office",
    "Region",
    "hookimpl",
    "is_german_speaking",
    "province_for_postal_code",
    "public",
    "region_for_postal_code",
    "roles_required",
]


@dataclass(frozen=True)
class Office:
    """A place where an institution meets entrepreneurs."""

    city: str
    postal_code: str
    head_office: bool = False
    kind: str = "office"  # "office", "desk" (a part-time permanence) or "phone"


class Institution:
    """An institution's profile and behaviour: the strategy object core calls for its tenant.

    Subclass it in your plugin and return an instance from ``register_institutions``. Core only
    ever calls the instance of the current tenant, so one institution's code never answers for
    another.
    """

    #: Short, stable, lowercase identifier; also the plugin's blueprint name and table prefix.
    slug: ClassVar[str] = ""
    #: Display names in nl, fr and en.
    names: ClassVar[Mapping[str, str]] = {}
    #: Regions the institution serves.
    regions: ClassVar[frozenset[Region]] = frozenset()
    #: Languages in which the institution serves clients, in order of preference.
    languages: ClassVar[tuple[str, ...]] = ()
    #: Where it meets clients.
    offices: ClassVar[tuple[Office, ...]] = ()
    #: Legal form and a line on who it is, in nl, fr and en.
    descriptions: ClassVar[Mapping[str, str]] = {}
    #: Website, shown on the institution's profile.
    website: ClassVar[str] = ""

    def name(self, language: str) -> str:
        """The display name in ``language``, falling back to English, then to the slug."""
        return self.names.get(language) or self.names.get("en") or self.slug

    def description(self, language: str) -> str:
        """The one-line description in ``language`` (English as fallback)."""
        return self.descriptions.get(language) or self.descriptions.get("en", "")

    def serves_postal_code(self, postal_code: str) -> bool:
        """True when the postal code lies in a region the institution serves."""
        return region_for_postal_code(postal_code) in self.regions

    def problems(self) -> list[str]:
        """What is wrong with this profile; core refuses to start a plugin with problems."""
        found = []
        if not self.slug or not self.slug.isidentifier() or self.slug != self.slug.lower():
            found.append(f"slug {self.slug!r} must be a lowercase Python identifier")
        missing = [lang for lang in LANGUAGES if not self.names.get(lang)]
        if missing:
            found.append(f"names missing for {', '.join(missing)}")
        if not self.regions or not all(isinstance(r, Region) for r in self.regions):
            found.append("regions must be a non-empty set of Region values")
        if not self.languages or any(lang not in (*LANGUAGES, "de") for lang in self.languages):
            found.append("languages must be a non-empty tuple of nl, fr, en, de")
        return found


@dataclass(frozen=True)
class MenuItem:
    """An entry in the navigation, returned by ``menu_items``.

    ``label`` is a (lazily) translated string; ``endpoint`` a Flask endpoint name; ``roles`` the
    roles that see it (empty: every signed-in user); lower ``order`` comes first.
    """

    label: Any
    endpoint: str
    roles: frozenset[str] = frozenset()
    order: int = 100
    description: Any = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """Something that happened, told to ``on_event`` after the change was committed.

    ``name`` is dotted (``user.created``); ``institution_id`` is the tenant it concerns, or None
    for sector-wide events; ``data`` holds ids and codes, never personal data.
    """

    name: str
    institution_id: int | None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidenceContext:
    """What an automatic evidence provider is asked about: one institution, one period.

    The provider runs with tenant scoping set to ``institution_id``: its queries see only that
    institution's rows.
    """

    institution_id: int
    period_start: Any  # datetime.date, first day included
    period_end: Any  # datetime.date, last day included


@dataclass(frozen=True)
class Evidence:
    """What a provider found: a one-line ``summary`` (in English or translated lazily) and whether
    it supports the clause (``ok``: True, False, or None when it only informs)."""

    summary: Any
    ok: bool | None = None


@dataclass(frozen=True)
class EvidenceProvider:
    """Automatic evidence for a code-of-conduct clause, returned by ``register_compliance_evidence``.

    ``clause`` is the clause id ("5.4"); ``catalogue`` the catalogue code it refers to (None: any
    catalogue with that clause id); ``compute(context)`` returns an ``Evidence``, computed from the
    institution's own data for the period.
    """

    clause: str
    title: Any
    compute: Callable[[EvidenceContext], Evidence]
    catalogue: str | None = None
