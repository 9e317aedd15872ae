"""Portfolio import, part one: reading and validating the CSV (nothing is written here).

The file is UTF-8 (a byte-order mark is accepted), comma-separated, with a header row holding
exactly :data:`COLUMNS` (in any order). One row per loan; rows sharing a ``client_ref`` are one
client and must agree on every person column. Every row is checked; the result carries either the
typed clients and loans or the list of errors, each naming its line (the header is line 1) and
column. The writer (later) imports a result only when it has no error, in one transaction.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Callable, Collection, Mapping, TextIO

from flask_babel import lazy_gettext as _l
from stdnum.be import vat

from core.geo import country_codes, region_for_postal_code

PERSON_COLUMNS = ("first_name", "last_name", "birth_date", "gender", "country_of_birth", "education",
                  "employment_status", "disability", "postal_code", "language")
COLUMNS = ("client_ref", *PERSON_COLUMNS, "enterprise_number", "sector", "loan_ref", "product",
           "principal", "honour_loan", "annual_rate", "term_months", "disbursed_on", "status")
GENDERS = ("F", "M", "X")
EDUCATION = ("none", "primary", "lower_secondary", "upper_secondary", "higher")
EMPLOYMENT = ("job_seeker", "employed", "self_employed", "inactive", "student")
LANGUAGES = ("nl", "fr", "en", "de")
SECTORS = ("horeca", "retail", "services", "care", "transport", "construction", "other")
STATUSES = ("active", "repaid", "written_off")
MAX_TERM_MONTHS = 240
#: ISO 3166-1 alpha-2 codes CLDR knows (without its groupings and pseudo-locales: ``core.geo``).
COUNTRIES = country_codes()


@dataclass(frozen=True)
class RowError:
    """A problem in one cell (or, for column 'header', in the header row)."""

    line: int
    column: str
    message: str


@dataclass(frozen=True)
class PersonData:
    first_name: str
    last_name: str
    birth_date: date
    gender: str
    country_of_birth: str
    education: str
    employment_status: str
    disability: bool
    postal_code: str
    language: str


@dataclass(frozen=True)
class LoanRow:
    """One valid row: a loan of client ``client_ref``."""

    line: int
    client_ref: str
    person: PersonData
    enterprise_number: str | None  # compact 10 digits
    sector: str
    loan_ref: str
    product: str
    principal: Decimal
    honour_loan: Decimal
    annual_rate: Decimal  # a fraction: 7 % in the file is Decimal("0.07") here
    term_months: int
    disbursed_on: date
    status: str


@dataclass(frozen=True)
class ImportedClient:
    client_ref: str
    person: PersonData
    loans: tuple[LoanRow, ...]


@dataclass(frozen=True)
class PortfolioFile:
    """The outcome of :func:`read_portfolio`: clients when ``ok``, else errors (line order)."""

    clients: tuple[ImportedClient, ...]
    errors: tuple[RowError, ...]
    rows: int

    @property
    def ok(self) -> bool:
        return not self.errors


def read_portfolio(stream: TextIO, product_codes: Collection[str], today: date,
                   progress: Callable[[int], None] | None = None,
                   loan_rules: Callable[[LoanRow], Mapping[str, str]] | None = None) -> PortfolioFile:
    """Read and check a portfolio CSV for an institution offering ``product_codes``.

    ``today`` bounds the dates (no disbursement in the future); ``progress`` is called with the
    number of rows read every 500 rows (for a progress bar). ``loan_rules``, when given, is called
    with each otherwise valid row and answers ``{column: message}`` for the product's own rules
    (amount and term ranges, honour-loan cap...); an empty mapping means the row is fine.
    """
    reader = csv.DictReader(stream)
    header_errors = _check_header(reader.fieldnames)
    if header_errors:
        return PortfolioFile((), tuple(header_errors), 0)
    reader.fieldnames = [name.strip().lstrip("\ufeff") for name in reader.fieldnames]
    checker = _RowChecker(set(product_codes), today, loan_rules)
    rows, errors, count = [], [], 0
    for raw in reader:
        count += 1
        row, row_errors = checker.check(reader.line_num, raw)
        errors.extend(row_errors)
        if row:
            rows.append(row)
        if progress and count % 500 == 0:
            progress(count)
    if progress:
        progress(count)
    if count == 0:
        errors.append(RowError(1, "header", str(_l("The file has no loan rows."))))
    clients, group_errors = _group(rows)
    errors = sorted([*errors, *group_errors], key=lambda e: (e.line, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
    return PortfolioFile(() if errors else clients, tuple(errors), count)


def _check_header(fieldnames) -> list[RowError]:
    names = [name.strip().lstrip("\ufeff") for name in fieldnames or []]
    errors = [RowError(1, c, str(_l("This column is missing."))) for c in COLUMNS if c not in names]
    errors += [RowError(1, "header", str(_l("Unknown column: %(name)s.", name=n)))
               for n in names if n not in COLUMNS]
    if len(set(names)) != len(names):
        errors.append(RowError(1, "header", str(_l("A column appears twice."))))
    return errors


class _RowChecker:
    """Checks one row at a time; remembers loan references to refuse duplicates."""

    def __init__(self, product_codes: set[str], today: date, rules):
        self.products, self.today, self.rules = product_codes, today, rules
        self.loan_refs: dict[str, int] = {}

    def check(self, line: int, raw: dict) -> tuple[LoanRow | None, list[RowError]]:
        if None in raw:  # more cells than columns
            return None, [RowError(line, "header", str(_l("This row has more cells than the header.")))]
        cell = {k: (v or "").strip() for k, v in raw.items()}
        errors: dict[str, str] = {}

        def need(column, parse, message):
            try:
                value = parse(cell[column])
            except (ValueError, InvalidOperation, ArithmeticError):
                value = None
            if value is None:
                errors[column] = str(message)
            return value

        values = {
            "client_ref": need("client_ref", _text, _l("Enter the client's reference.")),
            "first_name": need("first_name", _text, _l("Enter the first name.")),
            "last_name": need("last_name", _text, _l("Enter the last name.")),
            "birth_date": need("birth_date", self._birth_date, _l("Enter a birth date as YYYY-MM-DD, in the past.")),
            "gender": need("gender", _choice(GENDERS), _l("Enter F, M or X.")),
            "country_of_birth": need("country_of_birth", _country, _l("Enter a country code of two letters (ISO 3166), such as BE.")),
            "education": need("education", _choice(EDUCATION), _l("Enter none, primary, lower_secondary, upper_secondary or higher.")),
            "employment_status": need("employment_status", _choice(EMPLOYMENT), _l("Enter job_seeker, employed, self_employed, inactive or student.")),
            "disability": need("disability", _yes_no, _l("Enter yes or no.")),
            "postal_code": need("postal_code", _postal_code, _l("Enter a Belgian postal code of four digits.")),
            "language": need("language", _choice(LANGUAGES), _l("Enter nl, fr, en or de.")),
            "enterprise_number": need("enterprise_number", _enterprise_number, _l("Enter a valid enterprise number (0123.456.789) or leave it empty.")),
            "sector": need("sector", _choice(SECTORS), _l("Enter horeca, retail, services, care, transport, construction or other.")),
            "loan_ref": need("loan_ref", _text, _l("Enter the loan's reference.")),
            "product": need("product", _choice(self.products), _l("Enter a product code of this institution.")),
            "principal": need("principal", _positive_amount, _l("Enter an amount greater than zero, such as 5000.00.")),
            "honour_loan": need("honour_loan", _amount, _l("Enter 0 or an amount greater than zero, such as 1500.00.")),
            "annual_rate": need("annual_rate", _rate, _l("Enter a yearly rate in percent between 0 and 100, such as 7.5.")),
            "term_months": need("term_months", _term, _l("Enter a number of months between 1 and 240.")),
            "disbursed_on": need("disbursed_on", self._past_date, _l("Enter a date as YYYY-MM-DD, not in the future.")),
            "status": need("status", _choice(STATUSES), _l("Enter active, repaid or written_off.")),
        }
        self._check_cross_fields(values, errors)
        if values["loan_ref"] is not None:
            first = self.loan_refs.setdefault(values["loan_ref"], line)
            if first != line:
                errors["loan_ref"] = str(_l("This loan reference is already on line %(line)s.", line=first))
        found = [RowError(line, column, message) for column, message in errors.items()]
        if found:
            return None, found
        values["enterprise_number"] = values["enterprise_number"] or None
        person = PersonData(**{c: values[c] for c in PERSON_COLUMNS})
        loan = {k: v for k, v in values.items() if k not in PERSON_COLUMNS}
        row = LoanRow(line=line, person=person, **loan)
        broken = self.rules(row) if self.rules else {}
        if broken:
            return None, [RowError(line, column, str(message)) for column, message in broken.items()]
        return row, []

    def _check_cross_fields(self, values: dict, errors: dict) -> None:
        born, disbursed = values["birth_date"], values["disbursed_on"]
        if born and disbursed and "birth_date" not in errors and _age(born, disbursed) < 18:
            errors["birth_date"] = str(_l("The client must be at least 18 on the disbursement date."))

    def _birth_date(self, text: str) -> date | None:
        value = _iso_date(text)
        return value if date(1900, 1, 1) <= value < self.today else None

    def _past_date(self, text: str) -> date | None:
        value = _iso_date(text)
        return value if date(1980, 1, 1) <= value <= self.today else None


def _group(rows: list[LoanRow]) -> tuple[tuple[ImportedClient, ...], list[RowError]]:
    """Clients in order of first appearance; a row disagreeing with its client's first row is an error."""
    firsts: dict[str, LoanRow] = {}
    loans: dict[str, list[LoanRow]] = {}
    errors = []
    for row in rows:
        first = firsts.setdefault(row.client_ref, row)
        loans.setdefault(row.client_ref, []).append(row)
        for column in PERSON_COLUMNS:
            if getattr(row.person, column) != getattr(first.person, column):
                errors.append(RowError(row.line, column, str(_l(
                    "This client's %(column)s differs from line %(line)s.", column=column, line=first.line))))
    clients = tuple(ImportedClient(ref, firsts[ref].person, tuple(items)) for ref, items in loans.items())
    return clients, errors


def _text(text: str) -> str | None:
    return text if text and len(text) <= 100 else None


def _choice(allowed: Collection[str]) -> Callable[[str], str | None]:
    return lambda text: text if text in allowed else None


def _yes_no(text: str) -> bool | None:
    return {"yes": True, "no": False}.get(text.lower())


def _country(text: str) -> str | None:
    return text.upper() if len(text) == 2 and text.upper() in COUNTRIES else None


def _postal_code(text: str) -> str | None:
    return text if region_for_postal_code(text) is not None else None


def _enterprise_number(text: str) -> str | None:
    """An empty cell gives "" (the column is optional; None would mean invalid)."""
    if not text:
        return ""
    if not vat.is_valid(text):
        raise ValueError(text)
    return vat.compact(text)


def _amount(text: str) -> Decimal | None:
    value = Decimal(text)
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        return None
    return value.quantize(Decimal("0.01"))


def _positive_amount(text: str) -> Decimal | None:
    value = _amount(text)
    return value if value is not None and value > 0 else None


def _rate(text: str) -> Decimal | None:
    value = Decimal(text)
    return value / 100 if value.is_finite() and 0 <= value < 100 else None


def _term(text: str) -> int | None:
    value = int(text)
    return value if 1 <= value <= MAX_TERM_MONTHS else None


def _iso_date(text: str) -> date:
    """A date written exactly YYYY-MM-DD (``date.fromisoformat`` would also take 20260115)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(text)
    return date.fromisoformat(text)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --- what the file needs, for the import page and the example file -------------------------------

@dataclass(frozen=True)
class ColumnHelp:
    """One column of the file as the import page explains it."""

    name: str
    required: bool
    format: object  # a lazy translated text
    example: str


COLUMN_GUIDE: tuple[ColumnHelp, ...] = (
    ColumnHelp("client_ref", True, _l("Your own reference of the client, at most 100 characters; rows with the same reference are one client and must agree on every person column."), "C-0001"),
    ColumnHelp("first_name", True, _l("Text, at most 100 characters."), "Amina"),
    ColumnHelp("last_name", True, _l("Text, at most 100 characters."), "El Amrani"),
    ColumnHelp("birth_date", True, _l("Date as YYYY-MM-DD, in the past; the client is at least 18 on the disbursement date."), "1990-04-12"),
    ColumnHelp("gender", True, _l("F, M or X."), "F"),
    ColumnHelp("country_of_birth", True, _l("Country code of two letters (ISO 3166)."), "MA"),
    ColumnHelp("education", True, _l("none, primary, lower_secondary, upper_secondary or higher."), "upper_secondary"),
    ColumnHelp("employment_status", True, _l("job_seeker, employed, self_employed, inactive or student."), "job_seeker"),
    ColumnHelp("disability", True, _l("yes or no."), "no"),
    ColumnHelp("postal_code", True, _l("Belgian postal code of four digits."), "1070"),
    ColumnHelp("language", True, _l("nl, fr, en or de."), "fr"),
    ColumnHelp("enterprise_number", False, _l("KBO/BCE enterprise number (0123.456.789), or empty."), "0428.759.497"),
    ColumnHelp("sector", True, _l("horeca, retail, services, care, transport, construction or other."), "horeca"),
    ColumnHelp("loan_ref", True, _l("Your own reference of the loan, once in the file and not yet used."), "L-0001"),
    ColumnHelp("product", True, _l("A product code of your institution."), "jump"),
    ColumnHelp("principal", True, _l("Amount in euros above zero, a point before at most two decimals, within the product's amounts."), "8000.00"),
    ColumnHelp("honour_loan", True, _l("Amount of the honour loan in euros: 0 when there is none."), "0"),
    ColumnHelp("annual_rate", True, _l("Yearly rate in percent, from 0 to below 100, with a point."), "12.13"),
    ColumnHelp("term_months", True, _l("Whole number of months from 1 to 240, within the product's terms."), "36"),
    ColumnHelp("disbursed_on", True, _l("Date as YYYY-MM-DD, from 1980 on and not in the future."), "2025-03-01"),
    ColumnHelp("status", True, _l("active, repaid or written_off."), "active"),
)
assert tuple(c.name for c in COLUMN_GUIDE) == COLUMNS


def example_rows(product_code: str, principal: Decimal, term_months: int, annual_rate: Decimal,
                 today: date) -> list[dict[str, str]]:
    """Two valid loans of two clients (one with an enterprise number, one without) for a product."""
    disbursed = date(today.year - 1, 3, 1)
    first = {c.name: c.example for c in COLUMN_GUIDE}
    first.update(product=product_code, principal=f"{principal:.2f}", term_months=str(term_months),
                 annual_rate=f"{annual_rate}", disbursed_on=disbursed.isoformat())
    second = {**first, "client_ref": "C-0002", "first_name": "Jan", "last_name": "Peeters",
              "birth_date": "1984-11-02", "gender": "M", "country_of_birth": "BE", "education": "higher",
              "employment_status": "self_employed", "postal_code": "9000", "language": "nl",
              "enterprise_number": "", "sector": "retail", "loan_ref": "L-0002",
              "disbursed_on": date(today.year - 1, 6, 15).isoformat()}
    return [first, second]


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
