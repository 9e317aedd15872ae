"""Reading and checking a portfolio CSV: every row, every column, nothing half-valid."""
import csv
import importlib.util
import io
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from core.services.portfolio_import import COLUMNS, read_portfolio

TODAY = date(2026, 11, 25)
PRODUCTS = {"jump", "boost"}
ROOT = Path(__file__).resolve().parents[2]


def row(**changes):
    values = {
        "client_ref": "C1", "first_name": "Amina", "last_name": "El Amrani", "birth_date": "1990-04-12",
        "gender": "F", "country_of_birth": "MA", "education": "upper_secondary", "employment_status": "job_seeker",
        "disability": "no", "postal_code": "1070", "language": "fr", "enterprise_number": "0428.759.497",
        "sector": "horeca", "loan_ref": "L1", "product": "jump", "principal": "8000.00", "honour_loan": "0",
        "annual_rate": "12.13", "term_months": "36", "disbursed_on": "2025-03-01", "status": "active"}
    values.update(changes)
    return values


def read(*rows, columns=COLUMNS, prefix=""):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return read_portfolio(io.StringIO(prefix + out.getvalue()), PRODUCTS, TODAY)


def test_a_valid_file_gives_typed_clients_and_loans():
    result = read(row(), row(loan_ref="L2", product="boost", principal="2500", honour_loan="800.50",
                             enterprise_number="", disbursed_on="2026-01-10"),
                  row(client_ref="C2", first_name="Jan", last_name="Peeters", gender="M", country_of_birth="be",
                      language="nl", postal_code="9000", loan_ref="L3", status="repaid"), prefix="\ufeff")
    assert result.ok and result.rows == 3
    first, second = result.clients
    assert first.client_ref == "C1" and [l.loan_ref for l in first.loans] == ["L1", "L2"]
    loan = first.loans[0]
    assert (loan.principal, loan.annual_rate, loan.term_months, loan.enterprise_number) == (
        D("8000.00"), D("0.1213"), 36, "0428759497")
    assert first.loans[1].honour_loan == D("800.50") and first.loans[1].enterprise_number is None
    assert first.person.birth_date == date(1990, 4, 12) and first.person.disability is False
    assert second.person.country_of_birth == "BE" and second.loans[0].line == 4


@pytest.mark.parametrize("column, value", [
    ("client_ref", ""), ("first_name", ""), ("last_name", ""), ("birth_date", "12/04/1990"),
    ("birth_date", "2030-01-01"), ("birth_date", "19900412"), ("gender", "female"), ("country_of_birth", "XX"),
    ("country_of_birth", "BEL"), ("country_of_birth", "XA"), ("country_of_birth", "XB"), ("education", "master"), ("employment_status", "retired"), ("disability", "maybe"),
    ("postal_code", "999"), ("postal_code", "75001"), ("language", "it"), ("enterprise_number", "0428.759.498"),
    ("sector", "banking"), ("loan_ref", ""), ("product", "other-mfi-product"), ("principal", "0"),
    ("principal", "-100"), ("principal", "abc"), ("principal", "10.005"), ("honour_loan", "-1"),
    ("honour_loan", ""), ("annual_rate", "12,5"), ("annual_rate", "150"), ("term_months", "0"),
    ("term_months", "12.5"), ("disbursed_on", "2027-01-01"), ("disbursed_on", "2025-02-30"), ("status", "late"),
])
def test_each_bad_cell_is_named_by_line_and_column(column, value):
    result = read(row(), row(**{"loan_ref": "L2", column: value}))
    assert [(e.line, e.column) for e in result.errors] == [(3, column)]
    assert result.errors[0].message and result.clients == ()  # nothing is half-valid


def test_all_errors_of_all_rows_are_reported_in_order():
    result = read(row(gender="?", principal="x"), row(loan_ref="L2"), row(loan_ref="L3", status="?"))
    assert [(e.line, e.column) for e in result.errors] == [(2, "gender"), (2, "principal"), (4, "status")]


def test_a_client_must_be_18_on_the_disbursement_date():
    result = read(row(birth_date="2008-06-01", disbursed_on="2026-05-31"))
    assert [(e.line, e.column) for e in result.errors] == [(2, "birth_date")]
    assert read(row(birth_date="2008-06-01", disbursed_on="2026-06-01")).ok


def test_rows_of_one_client_must_agree_on_the_person():
    result = read(row(), row(loan_ref="L2", last_name="Amrani", postal_code="1000", sector="retail"))
    assert [(e.line, e.column) for e in result.errors] == [(3, "last_name"), (3, "postal_code")]
    assert "line 2" in result.errors[0].message


def test_a_loan_reference_appears_once():
    result = read(row(), row(client_ref="C2"))
    assert [(e.line, e.column) for e in result.errors] == [(3, "loan_ref")]


def test_the_header_must_hold_exactly_the_columns():
    missing = read(row(), columns=[c for c in COLUMNS if c != "sector"])
    assert [(e.line, e.column) for e in missing.errors] == [(1, "sector")]
    extra = read(row(), columns=[*COLUMNS, "notes"])
    assert [(e.line, e.column) for e in extra.errors] == [(1, "header")] and "notes" in extra.errors[0].message
    assert [(e.line, e.column) for e in read().errors] == [(1, "header")]  # no rows at all


def test_a_row_with_too_many_cells_is_refused():
    text = ",".join(COLUMNS) + "\n" + ",".join(row().values()) + ",extra\n"
    result = read_portfolio(io.StringIO(text), PRODUCTS, TODAY)
    assert [(e.line, e.column) for e in result.errors] == [(2, "header")]


def test_the_bench_generator_writes_a_valid_file_and_progress_is_reported(tmp_path):
    spec = importlib.util.spec_from_file_location("portfolio_csv", ROOT / "bench" / "portfolio_csv.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "portfolio.csv"
    bench.write(path, 1200)
    seen = []
    with path.open(encoding="utf-8", newline="") as handle:
        result = read_portfolio(handle, bench.PRODUCTS, TODAY, progress=seen.append)
    assert result.ok and result.rows == 1200 and seen == [500, 1000, 1200]
    assert sum(len(c.loans) for c in result.clients) == 1200
    assert len(result.clients) < 1200  # some clients have several loans


def test_the_products_own_rules_are_applied_to_valid_rows():
    def rules(loan):
        problems = {}
        if loan.principal > 15000 and loan.product == "jump":
            problems["principal"] = "Jump lends at most 15,000 EUR."
        if loan.honour_loan > loan.principal / 3:
            problems["honour_loan"] = "At most a third of the microloan."
        return problems

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows([row(), row(loan_ref="L2", principal="20000", honour_loan="7000"), row(loan_ref="L3", gender="?")])
    result = read_portfolio(io.StringIO(text.getvalue()), PRODUCTS, TODAY, loan_rules=rules)
    assert [(e.line, e.column, e.message) for e in result.errors] == [
        (3, "principal", "Jump lends at most 15,000 EUR."), (3, "honour_loan", "At most a third of the microloan."),
        (4, "gender", "Enter F, M or X.")]


def test_errors_are_in_the_users_language(app):
    from flask_babel import force_locale

    with force_locale("fr"):
        french = read(row(gender="?")).errors[0].message
    with force_locale("nl"):
        dutch = read(row(gender="?")).errors[0].message
    assert (french, dutch) == ("Indiquez F, M ou X.", "Vul F, M of X in.")
