"""Portfolio import, part two: writing a checked portfolio CSV, all or nothing.

``portfolio_import.read_portfolio`` checks every row first (with the institution's product rules
through its ``loan_rules`` callback, and loan references not used yet); if any row is wrong,
nothing is written and every error names its line and column. Otherwise clients, loans and their
schedules are written in ONE transaction (schedule lines, ledger and positions in bulk, ``bulk_rows.insert_rows``).

The file carries no repayment history, so the import states its assumptions in the ledger, as
entries of source ``import`` that an officer can reverse: an ``active`` loan is taken as up to
date — one payment per instalment due before the import date, **on its due date**, so that the
portfolio's history (PAR at past month ends, snapshots) is right and a fresh import does not show
every loan as late (an officer reverses those of a loan that was in arrears and books the real
payments); a ``repaid`` loan gets the same payments of the instalments due before it was closed,
and one payment of the rest on its closing date (its last due date, today if later); a
``written_off`` loan is closed on the import date without ledger entries. The stored positions
(``positions.import_rows``) are written with the lines, so ``microfin loans verify`` agrees.
"""
from __future__ import annotations

import io
import json
import logging
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable, TextIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update

from core import clock
from core import tenancy
from core.extensions import db
from core.models import Client, ImportRun, LedgerEntry, Loan, LoanPosition, ScheduleLine
from core.plugin_api import Event
from core.plugins import emit
from core.services import plugin_settings, positions
from core.services.bulk_rows import insert_rows
from core.services.clients import age_group, search_key
from core.services.errors import NotFound
from core.services.payment_reference import reference_for_loan
from core.services.portfolio_import import (LoanRow, PortfolioFile, RowError, example_rows, read_portfolio,
                                            to_csv)
from core.services.schedules import Method, build_schedule, honour_loan_schedule, loan_terms
from core.database_setup import refresh_statistics
from core.geo import province_for_postal_code, region_for_postal_code

GENDERS = {"F": "female", "M": "male", "X": "other"}
LOW_EDUCATION = ("none", "primary", "lower_secondary")
RULE_FIELDS = {"amount": "principal", "term_months": "term_months", "honour_loan": "honour_loan"}
log = logging.getLogger(__name__)
RULE_CODES = {"amount_too_low", "amount_too_high", "term_out_of_range", "honour_loan_not_offered",
              "honour_loan_too_high"}


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, on a dry run or with errors, would have done)."""

    rows: int
    clients: int
    loans: int
    errors: tuple[RowError, ...]
    written: bool

    @property
    def ok(self) -> bool:
        return not self.errors


def _rules(products: dict) -> Callable[[LoanRow], dict]:
    """The product's amount, term and honour-loan rules as the reader's ``loan_rules`` callback."""

    def check(row: LoanRow) -> dict:
        product = products[row.product]
        reasons = product.check_application(amount=row.principal, term_months=row.term_months,
                                            honour_loan=row.honour_loan, own_contribution=row.principal)
        return {RULE_FIELDS[r.field]: str(r.message) for r in reasons if r.code in RULE_CODES}

    return check


def check_portfolio(stream: TextIO, *, today: date | None = None,
                    progress: Callable[[int], None] | None = None) -> PortfolioFile:
    """Read and check the file for the current institution (nothing is written)."""
    products = {p.code: p for p in plugin_settings.products()}
    checked = read_portfolio(stream, products, today or clock.today(), progress=progress,
                             loan_rules=_rules(products))
    if not checked.ok:
        return checked
    taken = set(db.session.scalars(select(Loan.loan_ref).where(Loan.loan_ref.is_not(None))))
    clashes = tuple(RowError(row.line, "loan_ref", str(_l("This loan reference is already in use.")))
                    for client in checked.clients for row in client.loans if row.loan_ref in taken)
    return PortfolioFile((), clashes, checked.rows) if clashes else checked


def import_portfolio(stream: TextIO, *, dry_run: bool = False, today: date | None = None,
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check the file, then (unless ``dry_run`` or any error) write it in one transaction.

    ``progress`` is called with the number of rows read, then written.
    """
    today = today or clock.today()
    checked = check_portfolio(stream, today=today, progress=progress)
    loans = sum(len(c.loans) for c in checked.clients)
    if not checked.ok or dry_run:
        return ImportResult(checked.rows, len(checked.clients), loans, checked.errors, False)
    products = {p.code: p for p in plugin_settings.products()}
    try:
        written = _write(checked, products, today, progress)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    refresh_statistics()  # thousands of new rows: SQLite's planner must know them
    emit(Event("portfolio.imported", written[0].institution_id if written else None,
               {"clients": len(checked.clients), "loans": len(written)}))
    return ImportResult(checked.rows, len(checked.clients), len(written), (), True)


def _write(checked: PortfolioFile, products: dict, today: date, progress) -> list[Loan]:
    """Clients and loans through the ORM (audited), then schedule lines, references and the ledger
    of repaid loans with executemany statements: no per-loan UPDATE round trips."""
    pairs = []
    client_ids = _next_ids(Client, len(checked.clients))
    loan_ids = _next_ids(Loan, sum(len(c.loans) for c in checked.clients))
    for imported in checked.clients:
        client = _client(imported)
        client.id = next(client_ids, None)
        db.session.add(client)
        for row in imported.loans:
            loan = _loan(client, row, products[row.product])
            loan.id = next(loan_ids, None)
            schedule_rows = _schedule_rows(loan, row)
            if row.status == "repaid":
                loan.closed_on = min(max(r["due_date"] for r in schedule_rows), today)
            elif row.status == "written_off":
                loan.closed_on = today
            db.session.add(loan)
            pairs.append((row, loan, schedule_rows))
    db.session.flush()  # ids for the references and the schedule lines
    lines, references, ledger = [], [], []
    for count, (row, loan, schedule_rows) in enumerate(pairs, start=1):
        references.append({"loan": loan.id, "reference": reference_for_loan(loan.id).strip("+").replace("/", "")})
        for line in schedule_rows:
            line.update(loan_id=loan.id, institution_id=loan.institution_id)
        lines.extend(schedule_rows)
        if row.status in ("repaid", "active"):
            ledger.extend(_assumed_payment(loan, row.status, schedule_rows, today))
        if progress and count % 500 == 0:
            progress(count)
    table = Loan.__table__
    db.session.execute(update(table).where(table.c.id == bindparam("loan"))
                       .values(payment_reference=bindparam("reference")), references)
    summaries = _positions(pairs, ledger, today)
    insert_rows(ScheduleLine.__table__, lines)
    insert_rows(LedgerEntry.__table__, ledger)
    insert_rows(LoanPosition.__table__, summaries)
    db.session.flush()
    return [loan for _, loan, _ in pairs]


def _next_ids(model, count: int):
    """On PostgreSQL, ``count`` ids drawn from the table's sequence in one statement (an iterator),
    so that the ORM inserts the clients and loans with one ``executemany`` and no ``RETURNING``:
    with ``RETURNING`` SQLAlchemy sends batches of a thousand rows as one statement each, and
    psycopg parsed those 40,000-placeholder statements without its cache (8 s of the 10,000-row
    import). Elsewhere an empty iterator: the database numbers the rows as usual."""
    if db.engine.dialect.name != "postgresql" or not count:
        return iter(())
    from sqlalchemy import text

    table = model.__table__.name
    return iter(db.session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                        "FROM generate_series(1, :count)"), {"table": table, "count": count}).all())


def _positions(pairs, ledger: list[dict], today: date) -> list[dict]:
    """The stored position of each imported loan (its lines' columns filled in place)."""
    paid: dict[int, Decimal] = {}
    last: dict[int, date] = {}
    for entry in ledger:
        paid[entry["loan_id"]] = paid.get(entry["loan_id"], Decimal("0.00")) + entry["amount"]
        last[entry["loan_id"]] = max(last.get(entry["loan_id"], entry["value_date"]), entry["value_date"])
    return [positions.import_rows(loan, schedule_rows, paid.get(loan.id, Decimal("0.00")), last.get(loan.id), today)
            for _, loan, schedule_rows in pairs]


def _assumed_payment(loan: Loan, status: str, schedule_rows: list[dict], today: date) -> list[dict]:
    """The import's payments (ledger rows): of an active loan, each instalment due before the import
    date on its due date; of a repaid one, the same up to its closing date and the rest then."""
    until = loan.closed_on if status == "repaid" else today
    by_date: dict[date, Decimal] = {}
    for row in schedule_rows:
        on = row["due_date"] if row["due_date"] < until else (until if status == "repaid" else None)
        if on is not None:
            by_date[on] = by_date.get(on, Decimal("0.00")) + row["principal"] + row["interest"] + row["fees"]
    note = "imported as repaid" if status == "repaid" else "imported as up to date: instalment due before the import"
    return [{"loan_id": loan.id, "kind": "payment", "amount": amount, "value_date": on, "source": "import",
             "note": note, "institution_id": loan.institution_id, "reference": None, "reverses_id": None,
             "created_by_id": None}
            for on, amount in sorted(by_date.items()) if amount > 0]


def _client(imported) -> Client:
    p = imported.person
    first = imported.loans[0]
    client = Client(status="active", first_name=p.first_name, last_name=p.last_name, birth_date=p.birth_date,
                    gender=GENDERS[p.gender], postal_code=p.postal_code,
                    region=str(region_for_postal_code(p.postal_code)),
                    province=province_for_postal_code(p.postal_code), preferred_language=p.language,
                    country_of_birth=p.country_of_birth, education_level=p.education,
                    employment_status=p.employment_status, disability=p.disability,
                    enterprise_number=first.enterprise_number, sector=first.sector,
                    stage="established" if first.enterprise_number else "starter")
    client.sort_key = search_key(f"{p.last_name} {p.first_name}")[:220]
    client.first_name_key = search_key(p.first_name)[:100]
    client.intake_gender = client.gender
    client.intake_born_abroad = p.country_of_birth != "BE"
    client.intake_age_group = age_group(p.birth_date, first.disbursed_on)
    client.intake_low_educated = p.education in LOW_EDUCATION
    client.intake_job_seeker = p.employment_status == "job_seeker"
    client.intake_disability = p.disability
    return client


def _loan(client: Client, row: LoanRow, product) -> Loan:
    return Loan(client=client, loan_ref=row.loan_ref, status=row.status, product_code=row.product,
                principal=row.principal, term_months=row.term_months, annual_rate=row.annual_rate * 100,
                repayment_method=product.repayment_method, honour_loan=row.honour_loan, disbursed_on=row.disbursed_on,
                schedule_version=1, purpose_category=None, upfront_fee=Decimal("0.00"))


def _schedule_rows(loan: Loan, row: LoanRow) -> list[dict]:
    terms = loan_terms(row.principal, row.annual_rate, row.term_months, row.disbursed_on,
                       method=Method(loan.repayment_method))
    schedules = [("microloan", build_schedule(terms))]
    if row.honour_loan > 0:
        schedules.append(("honour", honour_loan_schedule(row.honour_loan, row.disbursed_on, row.term_months)))
    return [{"loan_id": None, "version": 1, "kind": kind, "number": i.number, "due_date": i.due_on,
             "principal": i.principal, "interest": i.interest, "fees": i.fee, "institution_id": None}
            for kind, schedule in schedules for i in schedule.instalments]


# --- the web upload: a run in the background, its progress in the database -------------------

def start_run(filename: str, content: str, *, user) -> ImportRun:
    """Record an uploaded portfolio file as a queued run (the caller then launches it)."""
    total = max(len(content.splitlines()) - 1, 0)
    run = ImportRun(filename=filename[:200], content=content, rows_total=total, created_by_id=user.id)
    db.session.add(run)
    db.session.commit()
    return run


def get_run(run_id) -> ImportRun:
    run = tenancy.get(ImportRun, run_id)
    if run is None:
        raise NotFound()
    return run


def launch(app, run_id: int, institution_id: int) -> threading.Thread:
    """Run the import in a background thread of this worker; any worker can report its progress."""

    def work():
        with app.app_context(), tenancy.acting_for(institution_id):
            execute_run(run_id)

    thread = threading.Thread(target=work, name=f"portfolio-import-{run_id}", daemon=True)
    thread.start()
    return thread


def _set(run_id: int, **values) -> None:
    """Write progress (and the run's heartbeat) on a connection of its own, committed at once,
    outside the import's transaction."""
    from core.models.types import utcnow

    with db.engine.begin() as connection:
        connection.execute(update(ImportRun.__table__).where(ImportRun.__table__.c.id == run_id)
                           .values(heartbeat_at=utcnow(), **values))


def execute_run(run_id: int) -> None:
    """Check and write a queued run; progress goes to the database as it goes."""
    run = get_run(run_id)
    content, total = run.content or "", run.rows_total
    db.session.commit()  # release the read transaction
    sqlite = db.engine.dialect.name == "sqlite"  # a second writer waits for the import's lock there
    phase = {"name": "checking", "last": 0}
    _set(run_id, status="checking")

    def progress(count: int) -> None:
        if count < phase["last"]:
            phase["name"] = "writing"
        phase["last"] = count
        if phase["name"] == "checking":
            _set(run_id, rows_done=count)
        elif not sqlite:
            _set(run_id, status="writing", rows_done=total + count)

    try:
        result = import_portfolio(io.StringIO(content), progress=progress)
    except Exception:  # logged; the run says it failed rather than spinning forever
        log.exception("portfolio import run %s failed", run_id)
        db.session.rollback()
        _finish(run_id, status="failed", content=None, errors=json.dumps([[0, "", "unexpected error"]]))
        return
    errors = [[e.line, e.column, str(e.message)] for e in result.errors]
    _finish(run_id, status="done" if result.ok else "failed", content=None, rows_done=2 * total,
            clients=result.clients, loans=result.loans, errors=json.dumps(errors) if errors else None)


def _finish(run_id: int, **values) -> None:
    """The run's last state and the notification of its author, in one transaction."""
    from core.services import notifications

    run = get_run(run_id)
    for name, value in values.items():
        setattr(run, name, value)
    notifications.import_finished(run)
    db.session.commit()


#: the error recorded (line 0) for a run that ended without reading the file to its end
STALE, UNEXPECTED = "stale", "unexpected error"
ACTIVE_STATES = ("queued", "checking", "writing")


def is_stale(run: ImportRun, now=None) -> bool:
    """True for a run still queued, checking or writing whose process gave no sign of life for
    ``MICROFIN_IMPORT_STALE_MINUTES`` (killed, or its worker restarted)."""
    from datetime import timedelta

    from flask import current_app

    from core.models.types import utcnow

    if run.status not in ACTIVE_STATES:
        return False
    limit = timedelta(minutes=current_app.config["MICROFIN_IMPORT_STALE_MINUTES"])
    return (run.heartbeat_at or run.created_at) < (now or utcnow()) - limit


def fail_stale(run: ImportRun) -> None:
    """Mark a stale run failed, drop its stored file and tell its author (nothing was imported:
    the import writes in one transaction, which died with its process)."""
    _finish(run.id, status="failed", content=None, errors=json.dumps([[0, "", STALE]]))


def fail_stale_runs() -> str:
    """The worker's chore: every institution's stale runs failed and purged. Returns how many."""
    from core.models.types import utcnow

    now = utcnow()
    count = 0
    with tenancy.all_institutions("the worker ends import runs whose process is gone"):
        runs = list(db.session.scalars(select(ImportRun).where(ImportRun.status.in_(ACTIVE_STATES))))
        for run in runs:
            if is_stale(run, now):
                with tenancy.acting_for(run.institution_id):
                    fail_stale(run)
                count += 1
    return f"{count} stale import run(s) failed"


def run_errors(run: ImportRun) -> list[tuple[int, str, str]]:
    return [tuple(item) for item in json.loads(run.errors)] if run.errors else []


def example_csv(today: date | None = None) -> str:
    """A small valid file for the current institution (its first product, an amount and a term
    that product allows): the example the import page offers to download."""
    today = today or clock.today()
    products = list(plugin_settings.products())
    if not products:
        return to_csv([])
    product = products[0]
    principal = min(max(product.min_amount, Decimal("5000")), product.max_amount)
    term = min(max(product.min_term_months, 24), product.max_term_months)
    return to_csv(example_rows(product.code, principal, term, product.annual_rate, today))
