"""Belgian geography: postal code to region and province (../shared/DOMAIN.md)."""
from __future__ import annotations

from enum import StrEnum


class Region(StrEnum):
    BRUSSELS = "brussels"
    WALLONIA = "wallonia"
    FLANDERS = "flanders"


# (first, last, province code, region); bpost's ranges. Order matters only for readability.
_RANGES: tuple[tuple[int, int, str, Region], ...] = (
    (1000, 1299, "BRU", Region.BRUSSELS),
    (1300, 1499, "WBR", Region.WALLONIA),  # Walloon Brabant
    (1500, 1999, "VBR", Region.FLANDERS),  # Flemish Brabant (incl. Drogenbos, Linkebeek, Rode, Wemmel, Kraainem, Wezembeek)
    (2000, 2999, "VAN", Region.FLANDERS),  # Antwerp
    (3000, 3499, "VBR", Region.FLANDERS),  # Flemish Brabant (Leuven)
    (3500, 3999, "VLI", Region.FLANDERS),  # Limburg (incl. Voeren 3790-3798)
    (4000, 4999, "WLG", Region.WALLONIA),  # Liège (incl. the German-speaking Community 4700-4791)
    (5000, 5999, "WNA", Region.WALLONIA),  # Namur
    (6000, 6599, "WHT", Region.WALLONIA),  # Hainaut (Charleroi)
    (6600, 6999, "WLX", Region.WALLONIA),  # Luxembourg
    (7000, 7999, "WHT", Region.WALLONIA),  # Hainaut (Mons, incl. Comines-Warneton 7780-7784)
    (8000, 8999, "VWV", Region.FLANDERS),  # West Flanders
    (9000, 9999, "VOV", Region.FLANDERS),  # East Flanders
)


def _parse(postal_code: str | int) -> int | None:
    text = str(postal_code).strip()
    if len(text) != 4 or not text.isdigit():
        return None
    return int(text)


def region_for_postal_code(postal_code: str | int) -> Region | None:
    """The region of a Belgian postal code, or ``None`` when it is not one."""
    code = _parse(postal_code)
    for first, last, _province, region in _RANGES:
        if code is not None and first <= code <= last:
            return region
    return None


def province_for_postal_code(postal_code: str | int) -> str | None:
    """The ISO 3166-2:BE subdivision code (without ``BE-``) of a postal code; ``BRU`` for Brussels."""
    code = _parse(postal_code)
    for first, last, province, _region in _RANGES:
        if code is not None and first <= code <= last:
            return province
    return None


def is_german_speaking(postal_code: str | int) -> bool:
    """True inside the German-speaking Community (4700–4791)."""
    code = _parse(postal_code)
    return code is not None and 4700 <= code <= 4791


# --- countries (of birth) ----------------------------------------------------------------------

#: CLDR territory codes of two letters that are not countries: groupings (EU, UN...), the unknown
#: region, Babel's pseudo-locales for testing translations (XA "Pseudo-Accents", XB "Pseudo-Bidi")
#: and ISO's exceptionally reserved codes (AC, CP, DG, EA, IC, TA: parts of other countries).
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "AC", "CP", "DG", "EA", "IC", "TA"})
#: Belgium, then its neighbours: the countries of birth chosen most, on top of every list.
FIRST_COUNTRIES = ("BE", "NL", "FR", "DE", "LU")


def country_codes() -> frozenset[str]:
    """The two-letter codes of the countries a person can be born in (CLDR's, without the above)."""
    from babel import Locale

    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code.upper() == code and code not in NOT_COUNTRIES)
