"""Structured payment references and bank-statement lines."""
import io
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.be import ogm_vcs

from core.services.payment_reference import (loan_id_for_reference, match, normalise_reference, read_statement,
                                             reference_for_loan)


@pytest.mark.parametrize("loan_id, reference", [
    (1, "+++000/0000/00101+++"),
    (12345, "+++000/0012/34526+++"),     # 12,345 mod 97 = 26
    (97, "+++000/0000/09797+++"),        # mod 97 = 0 gives check digits 97
    (108068171, "+++010/8068/17183+++"),  # python-stdnum's own example
])
def test_references_are_made_from_the_loan_id(loan_id, reference):
    assert reference_for_loan(loan_id) == reference
    assert loan_id_for_reference(reference) == loan_id


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**10 - 1))
def test_every_reference_is_valid_and_leads_back_to_its_loan(loan_id):
    reference = reference_for_loan(loan_id)
    assert ogm_vcs.is_valid(reference) and loan_id_for_reference(reference) == loan_id


def test_references_are_read_as_people_type_them():
    for typed in ("+++000/0012/34526+++", "***000/0012/34526***", "000001234526", " 000/0012/34526 "):
        assert normalise_reference(typed) == "+++000/0012/34526+++"
    for bad in ("+++000/0012/34527+++", "12345", "abc", ""):
        with pytest.raises(ValueError):
            normalise_reference(bad)
    with pytest.raises(ValueError):
        reference_for_loan(0)


STATEMENT = """date,amount,reference,counterparty
2026-02-01,198.01,+++000/0012/34526+++,Amina El Amrani
03/02/2026,"1.234,50",***000/0000/00101***,Jan Peeters
2026-02-04,50.00,,Unknown payer
2026-02-31,10.00,+++000/0000/00101+++,Bad date
2026-02-05,-20.00,+++000/0000/00101+++,A debit
2026-02-06,12.3.4,+++000/0012/34527+++,Bad amount and reference
"""


def test_statement_lines_are_read_with_an_error_per_bad_cell():
    statement = read_statement(io.StringIO("\ufeff" + STATEMENT))  # a byte-order mark is fine
    assert [(l.line, l.booked_on, l.amount, l.reference) for l in statement.lines] == [
        (2, date(2026, 2, 1), D("198.01"), "+++000/0012/34526+++"),
        (3, date(2026, 2, 3), D("1234.50"), "+++000/0000/00101+++"),
        (4, date(2026, 2, 4), D("50.00"), None)]
    assert [(e.line, e.column) for e in statement.errors] == [
        (5, "date"), (6, "amount"), (7, "amount"), (7, "reference")]
    assert "structured reference" in statement.errors[-1].message and not statement.ok


def test_a_statement_without_the_columns_is_refused():
    statement = read_statement(io.StringIO("when,how much\n2026-01-01,5\n"))
    assert {(e.line, e.column) for e in statement.errors} == {(1, c) for c in ("date", "amount", "reference", "counterparty")}


def test_lines_are_matched_to_loans_by_reference():
    statement = read_statement(io.StringIO(STATEMENT))
    found = match(statement.lines, {reference_for_loan(12345): "loan-12345", "000000000101": "loan-1"})
    assert [(line.line, loan) for line, loan in found.matched] == [(2, "loan-12345"), (3, "loan-1")]
    assert [line.line for line in found.unmatched] == [4]
