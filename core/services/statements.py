"""Bank statements that cannot double-book (issue 11, point 6).

A statement file is known by the SHA-256 of its content (line endings aside): uploading it again books nothing and
says when and by whom it was booked. Each credit line is known by its identity — date, amount,
reference, counterparty, and its occurrence among identical lines of its file (two equal
transfers on one day are two payments) — so a later statement that repeats a line already booked
lists it as known and books it again never.

Booking a file, in one transaction:

* a line whose structured reference is one of the institution's active loans is booked as a
  payment on that loan (the loan locked first, as for any payment);
* a line without a reference, or with the reference of one of the institution's loans that is not
  active, waits in the queue, where a person assigns it to a loan or dismisses it with a reason;
* a line with a valid structured reference that is no loan of this institution is an error of
  that line: nothing of the file is booked until it is corrected or removed (it is either a typing
  error of the payer or another institution's money, and neither may be booked here).
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import TextIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import Loan
from core.models.money_input import StatementFile, StatementLine
from core.models.types import utcnow
from core.services import payment_reference, repayments
from core.services.errors import NotFound, ValidationFailed
from core.services.loans import _commit_or_conflict, get_loan

Line = payment_reference.StatementLine


@dataclass(frozen=True)
class Preview:
    """What booking the file would do: nothing at all when ``known_file`` is set."""

    known_file: StatementFile | None
    to_book: tuple          # (line, occurrence, loan)
    to_queue: tuple         # (line, occurrence)
    already_booked: tuple   # (line, the stored StatementLine of an earlier file)
    errors: tuple           # payment_reference.LineError

    @property
    def bookable(self) -> bool:
        return self.known_file is None and not self.errors and bool(self.to_book or self.to_queue)


@dataclass(frozen=True)
class Booked:
    """The outcome of booking a file."""

    file: StatementFile
    booked: int
    queued: int
    already_booked: int


def digest(text: str) -> str:
    """The SHA-256 of a statement's text, by which a re-upload is recognised. Line endings are
    made ``\n`` first: a browser sends the preview's text back with ``\r\n``, and a file saved
    again on Windows is still the same statement."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def known_file(text: str) -> StatementFile | None:
    """The earlier upload of exactly this file, if any."""
    return db.session.scalar(select(StatementFile).where(StatementFile.sha256 == digest(text)))


def preview(text: str) -> Preview:
    """Read the statement and sort its lines, booking nothing."""
    earlier = known_file(text)
    statement = payment_reference.read_statement(_stream(text))
    if earlier is not None:
        return Preview(earlier, (), (), (), statement.errors)
    lines = _with_occurrence(statement.lines)
    stored = _stored(lines)
    own = _own_loans({line.reference for line, _ in lines if line.reference})
    to_book, to_queue, already, errors = [], [], [], list(statement.errors)
    for line, occurrence in lines:
        if (found := stored.get(_identity(line, occurrence))) is not None:
            already.append((line, found))
            continue
        loan = own.get(line.reference) if line.reference else None
        if line.reference and loan is None:
            errors.append(payment_reference.LineError(line.line, "reference", str(_l(
                "No loan of your institution carries this reference: correct or remove the line."))))
        elif loan is not None and loan.status == "active":
            to_book.append((line, occurrence, loan))
        else:
            to_queue.append((line, occurrence))
    return Preview(None, tuple(to_book), tuple(to_queue), tuple(already), tuple(errors))


def book(text: str, filename: str, *, user) -> Booked:
    """Book the statement: matched lines as payments, the rest queued, all in one transaction.

    ``ValidationFailed`` on ``statement`` when the file was already uploaded, has a bad line, or a
    line cannot be booked on its loan (its line is named); nothing is then written.
    """
    check = preview(text)
    if check.known_file is not None:
        raise ValidationFailed({"statement": _already_uploaded(check.known_file)})
    if check.errors:
        raise ValidationFailed({"statement": _l("The statement has lines to correct: nothing was booked.")})
    if not (check.to_book or check.to_queue):
        raise ValidationFailed({"statement": _l("Every line of this statement was already booked: nothing to do.")})
    upload = StatementFile(sha256=digest(text), filename=(filename or "statement.csv")[:200],
                           lines_total=len(check.to_book) + len(check.to_queue) + len(check.already_booked),
                           uploaded_by_id=getattr(user, "id", None))
    db.session.add(upload)
    db.session.flush()
    repaid = []
    for line, occurrence, loan in check.to_book:
        try:
            loan, entry, settled = _book_line(loan.id, line, user)
        except ValidationFailed as failed:
            db.session.rollback()
            raise ValidationFailed({"statement": _l("Line %(line)s: %(message)s", line=line.line,
                                                    message=next(iter(failed.errors.values())))}) from None
        repaid += [loan] if settled else []
        db.session.add(_stored_line(upload, line, occurrence, "booked", loan_id=loan.id, ledger_entry_id=entry.id))
    for line, occurrence in check.to_queue:
        db.session.add(_stored_line(upload, line, occurrence, "queued"))
    _commit_once()
    for loan in repaid:
        repayments.emit_repaid(loan)
    return Booked(upload, len(check.to_book), len(check.to_queue), len(check.already_booked))


def queued() -> list[StatementLine]:
    """The institution's lines waiting for a person, oldest first."""
    return list(db.session.scalars(select(StatementLine).where(StatementLine.state == "queued")
                                   .order_by(StatementLine.booked_on, StatementLine.id)))


def resolved(limit: int = 50) -> list[StatementLine]:
    """The lines most recently assigned or dismissed, for the queue page's history."""
    return list(db.session.scalars(select(StatementLine).where(StatementLine.state.in_(("assigned", "dismissed")))
                                   .order_by(StatementLine.resolved_at.desc(), StatementLine.id.desc()).limit(limit)))


def assign(line_id: int, loan_text: str, *, user) -> StatementLine:
    """Book a queued line as a payment on the loan named by ``loan_text`` (its number or its
    structured reference). ``ValidationFailed`` on ``loan`` or on the payment's own fields."""
    line = _queued_line(line_id)
    loan = _loan_named(loan_text)
    try:
        loan, entry, settled = _book_line(loan.id, line, user)
    except ValidationFailed:
        db.session.rollback()
        raise
    _resolve(line, "assigned", user, loan_id=loan.id, ledger_entry_id=entry.id)
    _commit_or_conflict()
    if settled:
        repayments.emit_repaid(loan)
    return line


def dismiss(line_id: int, reason: str, *, user) -> StatementLine:
    """Take a queued line out of the queue without booking it, for the reason given."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _l("Give the reason.")})
    line = _queued_line(line_id)
    _resolve(line, "dismissed", user, reason=reason[:500])
    _commit_or_conflict()
    return line


# --- helpers ----------------------------------------------------------------------------------

def _stream(text: str) -> TextIO:
    import io

    return io.StringIO(text)


def _with_occurrence(lines) -> list[tuple[Line, int]]:
    """Each line with its rank among the identical lines before it in the file (1, 2, …)."""
    seen: Counter = Counter()
    numbered = []
    for line in lines:
        same = _identity(line, 0)[:4]
        seen[same] += 1
        numbered.append((line, seen[same]))
    return numbered


def _identity(line, occurrence: int) -> tuple:
    return (line.booked_on, line.amount, line.reference or "", line.counterparty[:200], occurrence)


def _stored(lines) -> dict:
    """The stored lines (of earlier files) with the identity of one of ``lines``."""
    if not lines:
        return {}
    keys = [_identity(line, occurrence) for line, occurrence in lines]
    found = {}
    for chunk in range(0, len(keys), 200):
        part = keys[chunk:chunk + 200]
        rows = db.session.scalars(select(StatementLine).where(tuple_(
            StatementLine.booked_on, StatementLine.amount, StatementLine.reference, StatementLine.counterparty,
            StatementLine.occurrence).in_(part)))
        found.update({(r.booked_on, r.amount, r.reference, r.counterparty, r.occurrence): r for r in rows})
    return found


def _own_loans(references: set[str]) -> dict[str, Loan]:
    """The institution's loans carrying one of ``references`` (canonical form), by reference; a
    reference is made from its loan's id, so they are found by id."""
    if not references:
        return {}
    ids = {payment_reference.loan_id_for_reference(ref) for ref in references}
    found = db.session.scalars(select(Loan).where(Loan.id.in_(sorted(ids)), Loan.payment_reference.is_not(None)))
    return {ref: loan for loan in found
            if (ref := payment_reference.normalise_reference(loan.payment_reference)) in references}


def _book_line(loan_id: int, line, user):
    """A statement line as a payment on an active loan, in the caller's transaction."""
    if get_loan(loan_id).status != "active":
        raise ValidationFailed({"loan": _l("This loan is not being repaid: choose an active loan.")})
    return repayments.book_payment(loan_id, paid_on=line.booked_on, amount=line.amount, user=user,
                                   reference=line.reference or None, source="statement",
                                   note=line.counterparty or None)


def _stored_line(upload, line, occurrence, state, **more) -> StatementLine:
    return StatementLine(file_id=upload.id, line_number=line.line, booked_on=line.booked_on, amount=line.amount,
                         reference=line.reference or "", counterparty=line.counterparty[:200],
                         occurrence=occurrence, state=state, **more)


def _commit_once() -> None:
    """Commit; a parallel upload of the same file (or of the same lines) loses cleanly."""
    try:
        _commit_or_conflict()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed({"statement": _l(
            "This statement was booked at the same moment by someone else: nothing was booked twice.")}) from None


def line(line_id: int) -> StatementLine:
    """A statement line of the current institution, or ``NotFound``."""
    found = db.session.scalar(select(StatementLine).where(StatementLine.id == line_id))
    if found is None:
        raise NotFound()
    return found


def _queued_line(line_id: int) -> StatementLine:
    found = line(line_id)
    if found.state != "queued":
        raise ValidationFailed({"": _l("This line was already dealt with by someone else.")})
    return found


def _resolve(line: StatementLine, state: str, user, **values) -> None:
    """Move ``line`` out of the queue, once. The guarded no-op UPDATE locks the row (PostgreSQL) or
    the database (SQLite) and matches only while the line is still queued, so of two people
    resolving it at the same moment the second loses; the change itself goes through the ORM so
    that the audit trail records it."""
    claimed = db.session.execute(update(StatementLine).where(
        StatementLine.id == line.id, StatementLine.state == "queued").values(state=StatementLine.state)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        raise ValidationFailed({"": _l("This line was already dealt with by someone else.")})
    line.state, line.resolved_by_id, line.resolved_at = state, getattr(user, "id", None), utcnow()
    for name, value in values.items():
        setattr(line, name, value)


_LOAN_NUMBER = re.compile(r"^#?\s*(\d{1,10})$")


def _loan_named(text: str) -> Loan:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"loan": _l("Enter the loan number (#123) or its structured reference.")})
    if number := _LOAN_NUMBER.match(text):
        loan_id = int(number.group(1))
    else:
        try:
            loan_id = payment_reference.loan_id_for_reference(text)
        except ValueError:
            raise ValidationFailed({"loan": _l("Enter the loan number (#123) or its structured reference.")}) from None
    try:
        return get_loan(loan_id)
    except NotFound:
        raise ValidationFailed({"loan": _l("Your institution has no loan #%(id)s.", id=loan_id)}) from None


def _already_uploaded(upload: StatementFile):
    from flask_babel import format_datetime

    from core.models import User

    who = db.session.get(User, upload.uploaded_by_id) if upload.uploaded_by_id else None
    return _l("This file was already uploaded on %(when)s by %(who)s (%(name)s): nothing was booked again.",
              when=format_datetime(upload.uploaded_at, "short"), who=who.email if who else "—",
              name=upload.filename)


def lines_of(upload: StatementFile) -> list[StatementLine]:
    """The stored lines of an upload, in file order."""
    return list(db.session.scalars(select(StatementLine).where(StatementLine.file_id == upload.id)
                                   .order_by(StatementLine.line_number)))
