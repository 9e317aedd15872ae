"""What every report shares: the period, the scope (one institution or the sector), money in
cents, and the small-cell suppression of the federation's view."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, type_coerce

from core.services.errors import ValidationFailed

SUPPRESSED = "<5"  # what a suppressed cell holds in JSON, CSV and XLSX ("< 5" on screen)
MIN_CELL = 5  # a federation cell with fewer persons than this is suppressed
DISBURSED_STATUSES = ("active", "repaid", "written_off")


@dataclass(frozen=True)
class Period:
    """A period of days, both ends included; ``None`` leaves that end open."""

    start: date | None = None
    end: date | None = None

    def iso(self) -> tuple[str | None, str | None]:
        return (self.start.isoformat() if self.start else None, self.end.isoformat() if self.end else None)


@dataclass(frozen=True)
class Scope:
    """Whose figures: one institution (``institution_id``) or the whole sector (None).

    ``suppress`` is set for the federation's view: cells under five persons are hidden.
    """

    name: str
    institution_id: int | None = None
    suppress: bool = False

    def filter(self, column):
        """A WHERE clause limiting ``column`` (an ``institution_id``) to the scope, or None."""
        return column == self.institution_id if self.institution_id is not None else None


def sector_scope(suppress: bool = True) -> Scope:
    return Scope("sector", None, suppress)


def institution_scope(slug: str, suppress: bool = False) -> Scope:
    """The scope of the institution ``slug``; ``ValidationFailed`` on the ``institution`` field if unknown."""
    from core.services.institutions import by_slug

    institution = by_slug(slug or "")
    if institution is None:
        raise ValidationFailed({"institution": _l("There is no institution %(slug)s.", slug=slug)})
    return Scope(institution.slug, institution.id, suppress)


def parse_date(text: str | None, field: str) -> date | None:
    """A ``YYYY-MM-DD`` date, None when empty; ``ValidationFailed`` naming ``field`` otherwise."""
    if text is None or not str(text).strip():
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValidationFailed({field: _l("Enter a date as YYYY-MM-DD, such as 2026-03-31.")}) from None


def parse_period(start: str | None, end: str | None) -> Period:
    """The period between two typed dates; the errors name ``from`` and ``to``."""
    errors: dict = {}
    dates = {}
    for field, text in (("from", start), ("to", end)):
        try:
            dates[field] = parse_date(text, field)
        except ValidationFailed as failed:
            errors.update(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        raise ValidationFailed({"to": _l("The end of the period must not be before its start.")})
    return Period(dates["from"], dates["to"])


def cents(column):
    """A ``Money`` column as its raw integer cents, for arithmetic in SQL."""
    return type_coerce(column, BigInteger)


def euros(value) -> Decimal:
    """Integer cents (or None) from SQL as a Decimal in euros."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def cell(persons: int, amount: Decimal, scope: Scope) -> dict:
    """A ``{"persons", "amount"}`` cell, suppressed for the federation when under five persons."""
    if scope.suppress and persons < MIN_CELL:
        return {"persons": SUPPRESSED, "amount": SUPPRESSED}
    return {"persons": persons, "amount": f"{amount:.2f}"}


def count_cell(persons: int, scope: Scope) -> int | str:
    """A count of persons alone, suppressed like :func:`cell` for the federation when under five."""
    return SUPPRESSED if scope.suppress and persons < MIN_CELL else persons


def in_period(column, period: Period) -> list:
    clauses = []
    if period.start:
        clauses.append(column >= period.start)
    if period.end:
        clauses.append(column <= period.end)
    return clauses
