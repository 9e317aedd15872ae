"""``microfin import followups``: past survey results loaded as answered follow-ups, all or nothing.

The file is UTF-8 (a byte-order mark is accepted), comma-separated, with a header row holding
exactly :data:`COLUMNS` (in any order); one row per follow-up. ``loan_ref`` names a loan of the
institution (its own file number); the follow-up is of that loan's client, ``months`` after the
client's first disbursement. The answers are checked like the questionnaire's (``yes``/``no``,
the codes of the choices, jobs in full-time equivalents from 0 to 1000). Every row is checked
first; any error (named by line, the header being line 1, and column) and nothing is written.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core import clock
from core import tenancy
from core.extensions import db
from core.models import Loan
from core.models.followups import Followup
from core.models.types import utcnow
from core.plugins import slug_for_id
from core.services import followup_questions, followups
from core.services.errors import ValidationFailed
from core.services.portfolio_import import RowError

ANSWER_COLUMNS = ("active", "stopped_reason", "situation", "jobs_fte", "revenue_band", "bank_credit",
                  "bank_credit_kind")
COLUMNS = ("loan_ref", "months", "answered_on", *ANSWER_COLUMNS)
MAX_MONTHS = 120


@dataclass(frozen=True)
class FollowupImport:
    """What an import did: the rows read, the follow-ups written, or the errors (nothing written)."""

    rows: int
    written: int
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _header_errors(names: list[str]) -> list[RowError]:
    errors = [RowError(1, c, str(_l("This column is missing."))) for c in COLUMNS if c not in names]
    errors += [RowError(1, "header", str(_l("Unknown column: %(name)s.", name=n))) for n in names if n not in COLUMNS]
    if len(set(names)) != len(names):
        errors.append(RowError(1, "header", str(_l("A column appears twice."))))
    return errors


class _Checker:
    """Checks one row at a time against the institution's loans, consents and follow-ups."""

    def __init__(self, today: date):
        self.today = today
        self.questions = list(followup_questions.CORE_QUESTIONS)
        self.loans = {ref: (loan_id, client_id) for ref, loan_id, client_id in db.session.execute(
            select(Loan.loan_ref, Loan.id, Loan.client_id).where(Loan.loan_ref.is_not(None)))}
        self.first = {client_id: (loan_id, first_on) for client_id, loan_id, first_on in followups._first_loans()}
        self.answered = {(c, m) for c, m in db.session.execute(
            select(Followup.client_id, Followup.months).where(Followup.status == "answered"))}
        self.seen: dict[tuple[int, int], int] = {}

    def check(self, line: int, raw: dict) -> tuple[dict | None, list[RowError]]:
        errors: list[RowError] = []
        client_id = self._client(line, (raw.get("loan_ref") or "").strip(), errors)
        months = self._months(line, (raw.get("months") or "").strip(), errors)
        answered_on = self._date(line, (raw.get("answered_on") or "").strip(), errors)
        try:
            answers = followup_questions.parse_answers({k: (raw.get(k) or "").strip() for k in ANSWER_COLUMNS},
                                                       self.questions)
        except ValidationFailed as failed:
            errors += [RowError(line, key, str(message)) for key, message in failed.errors.items()]
            answers = None
        if client_id is not None and months is not None:
            key = (client_id, months)
            if key in self.answered:
                errors.append(RowError(line, "months", str(_l("This follow-up is already answered."))))
            elif key in self.seen:
                errors.append(RowError(line, "months", str(_l("Line %(line)s has the same loan and months.",
                                                               line=self.seen[key]))))
            self.seen.setdefault(key, line)
        if errors:
            return None, errors
        return {"client_id": client_id, "months": months, "answered_on": answered_on, "answers": answers}, []

    def _client(self, line: int, ref: str, errors: list) -> int | None:
        if ref not in self.loans:
            errors.append(RowError(line, "loan_ref", str(_l("The institution has no loan with this reference."))))
            return None
        client_id = self.loans[ref][1]
        if client_id not in self.first:
            errors.append(RowError(line, "loan_ref", str(_l(
                "This loan's client has no disbursed loan or no consent to impact surveys."))))
            return None
        return client_id

    def _months(self, line: int, text: str, errors: list) -> int | None:
        if not text.isdigit() or not 1 <= int(text) <= MAX_MONTHS:
            errors.append(RowError(line, "months", str(_l("Enter a number of months from 1 to 120."))))
            return None
        return int(text)

    def _date(self, line: int, text: str, errors: list) -> date | None:
        try:
            on = date.fromisoformat(text)
        except ValueError:
            errors.append(RowError(line, "answered_on", str(_l("Enter a date as YYYY-MM-DD, such as 2026-03-31."))))
            return None
        if on > self.today:
            errors.append(RowError(line, "answered_on", str(_l("The date must not be in the future."))))
            return None
        return on


def import_followups(stream: TextIO, *, today: date | None = None) -> FollowupImport:
    """Check every row of a follow-up CSV for the current institution, then write all or nothing."""
    reader = csv.DictReader(stream)
    names = [name.strip().lstrip("\ufeff") for name in reader.fieldnames or []]
    header = _header_errors(names)
    if header:
        return FollowupImport(0, 0, tuple(header))
    reader.fieldnames = names
    checker = _Checker(today or clock.today())
    rows, errors, count = [], [], 0
    for raw in reader:
        count += 1
        row, row_errors = checker.check(reader.line_num, raw)
        errors += row_errors
        if row:
            rows.append(row)
    if errors:
        return FollowupImport(count, 0, tuple(errors))
    for row in rows:
        _write(row, checker.first[row["client_id"]])
    db.session.commit()
    return FollowupImport(count, len(rows), ())


def _write(row: dict, first: tuple[int, date]) -> None:
    from dateutil.relativedelta import relativedelta

    loan_id, first_on = first
    followup = db.session.scalar(select(Followup).where(Followup.client_id == row["client_id"],
                                                        Followup.months == row["months"]))
    if followup is None:
        followup = Followup(client_id=row["client_id"], loan_id=loan_id, months=row["months"], base_on=first_on,
                            due_on=first_on + relativedelta(months=row["months"]), extra={},
                            questionnaire=followup_questions.version(slug_for_id(tenancy.current_institution_id())))
        db.session.add(followup)
    for key, value in row["answers"].items():
        setattr(followup, key, value)
    followup.status, followup.answered_by = "answered", "import"
    followup.answered_on, followup.answered_at = row["answered_on"], utcnow()
