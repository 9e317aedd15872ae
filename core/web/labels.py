"""Translated labels of the shared codes (sector, stage, region): one table each, used by forms,
templates and reports alike."""
from flask_babel import lazy_gettext as _l

SECTOR_LABELS = {"horeca": _l("Hotels, restaurants, cafés"), "retail": _l("Local retail"),
                 "services": _l("Services"), "care": _l("Care"), "transport": _l("Transport"),
                 "construction": _l("Construction"), "other": _l("Other")}
STAGE_LABELS = {"project": _l("Project"), "starter": _l("Starter (under 1 year)"),
                "established": _l("Established")}
REGION_LABELS = {"brussels": _l("Brussels-Capital"), "wallonia": _l("Wallonia"), "flanders": _l("Flanders")}
