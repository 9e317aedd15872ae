"""Translated labels of the shared codes (sector, stage, region, a client's gender, status and
language): one table each, used by forms, templates, reports and exports alike. Pure: it imports
nothing of the application, so services may use it as well as the web layer."""
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

SECTOR_LABELS = {"horeca": _l("Hotels, restaurants, cafés"), "retail": _l("Local retail"),
                 "services": _l("Services"), "care": _l("Care"), "transport": _l("Transport"),
                 "construction": _l("Construction"), "other": _l("Other")}
STAGE_LABELS = {"project": _l("Project"), "starter": _l("Starter (under 1 year)"),
                "established": _l("Established")}
REGION_LABELS = {"brussels": _l("Brussels-Capital"), "wallonia": _l("Wallonia"), "flanders": _l("Flanders")}
GENDER_LABELS = {"female": _l("Woman"), "male": _l("Man"), "other": _l("Other")}
STATUS_LABELS = {"active": _l("Active"), "closed": _l("Closed")}
LANGUAGE_LABELS = {"nl": "Nederlands", "fr": "Français", "en": "English"}


class TranslatedLabels(Mapping):
    """A table of lazily translated labels (code → ``_l(...)``) that translates each label at
    most once while it lives. Context processors make one per rendered page, so a list of 50 rows
    looks each sector up once instead of once per row (a translation lookup costs more than the
    rest of a table cell)."""

    def __init__(self, table: Mapping):
        self._table = table
        self._translated: dict = {}

    def __getitem__(self, code) -> str:
        try:
            return self._translated[code]
        except KeyError:
            label = self._translated[code] = str(self._table[code])
            return label

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)
