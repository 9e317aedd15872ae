"""Belgian structured payment references (OGM/VCS) and bank-statement lines.

A loan's reference is ``+++xxx/xxxx/xxxxx+++``: the loan id on ten digits, then its two check
digits (the ten digits modulo 97, 97 when that is 0), validated with ``stdnum.be.ogm_vcs``.

A bank-statement CSV is UTF-8, comma-separated, with the header ``date,amount,reference,
counterparty``; dates are ``YYYY-MM-DD`` or ``DD/MM/YYYY``; amounts use a dot or a comma as
decimal mark (quote the field when it holds a comma). Each bad line gives an error naming its line
and column; good lines are still returned.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Hashable, Iterable, Mapping, TextIO

from flask_babel import lazy_gettext as _l
from stdnum.be import ogm_vcs
from stdnum.exceptions import ValidationError

from core.models.types import to_money

STATEMENT_COLUMNS = ("date", "amount", "reference", "counterparty")


def reference_for_loan(loan_id: int) -> str:
    """The structured reference of loan ``loan_id`` (1 to 9,999,999,999): ``+++000/0000/12395+++``."""
    if not 0 < loan_id < 10**10:
        raise ValueError("a loan id must have at most ten digits")
    base = f"{loan_id:010d}"
    return f"+++{ogm_vcs.format(base + ogm_vcs.calc_check_digits(base))}+++"


def normalise_reference(text: str) -> str:
    """A reference typed any usual way (``+++…+++``, ``***…***``, bare digits) in its canonical form.

    Raises ``ValueError`` with a translatable message when it is not a valid structured reference.
    """
    digits = ogm_vcs.compact(text.replace("*", ""))
    try:
        ogm_vcs.validate(digits)
    except ValidationError:
        raise ValueError(_l("This is not a valid structured reference (+++123/4567/89012+++).")) from None
    return f"+++{ogm_vcs.format(digits)}+++"


def loan_id_for_reference(reference: str) -> int:
    """The loan id a valid structured reference was made from."""
    return int(normalise_reference(reference)[3:-3].replace("/", "")[:10])


@dataclass(frozen=True)
class StatementLine:
    """One credit line of a bank statement."""

    line: int
    booked_on: date
    amount: Decimal
    reference: str | None  # canonical +++…+++ form, None when the line carries none
    counterparty: str


@dataclass(frozen=True)
class LineError:
    """Why one line (1 is the header) could not be read, naming its column."""

    line: int
    column: str
    message: str


@dataclass(frozen=True)
class Statement:
    """The lines read and the errors found; ``ok`` when there are none."""

    lines: tuple[StatementLine, ...]
    errors: tuple[LineError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Matches:
    """Statement lines matched to a loan (by its reference), and the lines left for a person."""

    matched: tuple[tuple[StatementLine, Hashable], ...]
    unmatched: tuple[StatementLine, ...]


def read_statement(stream: TextIO) -> Statement:
    """Parse a bank-statement CSV; every bad line is reported, good lines are kept."""
    reader = csv.DictReader(stream)
    header = [name.strip().lstrip("\ufeff").lower() for name in reader.fieldnames or []]
    missing = [c for c in STATEMENT_COLUMNS if c not in header]
    if missing:
        return Statement((), tuple(LineError(1, c, str(_l("This column is missing."))) for c in missing))
    reader.fieldnames = header
    lines, errors = [], []
    for row in reader:
        number = reader.line_num
        line, line_errors = _read_line(number, row)
        errors.extend(line_errors)
        if line:
            lines.append(line)
    return Statement(tuple(lines), tuple(errors))


def match(lines: Iterable[StatementLine], loans_by_reference: Mapping[str, Hashable]) -> Matches:
    """Pair each line with the loan whose reference it carries; the others are unmatched."""
    canonical = {normalise_reference(ref): loan for ref, loan in loans_by_reference.items()}
    matched, unmatched = [], []
    for line in lines:
        loan = canonical.get(line.reference) if line.reference else None
        if loan is None:
            unmatched.append(line)
        else:
            matched.append((line, loan))
    return Matches(tuple(matched), tuple(unmatched))


def _read_line(number: int, row: dict) -> tuple[StatementLine | None, list[LineError]]:
    errors = []
    booked_on = _date(row.get("date") or "")
    if booked_on is None:
        errors.append(LineError(number, "date", str(_l("Enter a date as YYYY-MM-DD or DD/MM/YYYY."))))
    amount = _amount(row.get("amount") or "")
    if amount is None:
        errors.append(LineError(number, "amount", str(_l("Enter an amount in euros, such as 125.50."))))
    elif amount <= 0:
        errors.append(LineError(number, "amount", str(_l("Only incoming payments (amounts above zero) can be matched."))))
    reference = (row.get("reference") or "").strip() or None
    if reference:
        try:
            reference = normalise_reference(reference)
        except ValueError as error:
            errors.append(LineError(number, "reference", str(error.args[0])))
    if errors:
        return None, errors
    return StatementLine(number, booked_on, amount, reference, (row.get("counterparty") or "").strip()), []


def _date(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _amount(text: str) -> Decimal | None:
    text = text.strip().replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")  # 1.234,56 -> 1234.56
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != to_money(value):
        return None
    return value
