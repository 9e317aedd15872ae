"""The public guide for bank advisers (issue 13, point 5): what each enabled institution finances,
read live from its plugin's profile and its products under the institution's current settings, so
the training material the memorandum asks for is never out of date. No personal data."""
from __future__ import annotations

from dataclasses import dataclass

from core.plugin_api import LoanProduct, Office
from core.plugins import state
from core.services import plugin_settings
from core.services.institutions import enabled_institutions
from core.tenancy import acting_for


@dataclass(frozen=True)
class GuideEntry:
    """One institution as the guide shows it."""

    slug: str
    name: str
    description: str
    website: str
    regions: tuple[str, ...]
    languages: tuple[str, ...]
    offices: tuple[Office, ...]
    products: tuple[LoanProduct, ...]


def guide(language: str) -> list[GuideEntry]:
    """Every enabled institution with its products as they are offered today, in ``language``."""
    entries = []
    for row in enabled_institutions():
        profile = state().institution(row.slug)
        with acting_for(row.id):
            products = tuple(plugin_settings.products())
        entries.append(GuideEntry(row.slug, profile.name(language), profile.description(language), profile.website,
                                  tuple(sorted(str(r) for r in profile.regions)), tuple(profile.languages),
                                  tuple(profile.offices), products))
    return entries
