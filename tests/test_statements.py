"""Bank statements that cannot double-book (issue 11, point 6, and its bad input): a re-uploaded
file books nothing and says when and by whom; a line already booked from an earlier file is listed,
not booked; unmatched lines wait in a queue where a person assigns or dismisses each; bad files and
bad lines are named and nothing is written."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.models import AuditEntry, LedgerEntry
from core.models.money_input import StatementFile, StatementLine
from core.services import statements
from core.services.payment_reference import reference_for_loan
from core.tenancy import acting_for
from tests.conftest import post
from tests.loans_data import make_loan

HEADER = "date,amount,reference,counterparty\n"


def _upload(client, text: str, name: str = "march.csv", book: bool = True):
    """Upload the file (the preview), then press the preview's book button, as an officer does."""
    preview = post(client, "/loans/statement", {"statement": (io.BytesIO(text.encode()), name)},
                   token_from="/loans/statement", content_type="multipart/form-data")
    if not book:
        return preview
    return post(client, "/loans/statement", {"text": text, "filename": name, "book": "yes"},
                token_from="/loans/statement")


def _written(institution_id: int) -> tuple[int, int, int]:
    """(payments, statement files, statement lines) of the institution."""
    db.session.expire_all()
    with acting_for(institution_id):
        count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
        return (count(LedgerEntry, LedgerEntry.kind == "payment"), count(StatementFile), count(StatementLine))


def test_the_same_file_uploaded_twice_books_once_and_says_when_and_by_whom(client, staff_a, as_user):
    loan = make_loan(staff_a, disbursed_on=date(2025, 1, 15))
    text = HEADER + f"2025-02-15,106.69,{reference_for_loan(loan.id)},Amina\n2025-02-16,20.00,,Unknown\n"
    as_user(staff_a.officer)
    first = _upload(client, text).get_data(as_text=True)
    assert "1 payment booked." in first and "1 line waits in the queue" in first
    assert _written(staff_a.institution_id) == (1, 1, 2)
    again = _upload(client, text, book=False)
    body = again.get_data(as_text=True)
    assert again.status_code == 422 and 'id="known-file"' in body and "march.csv" in body
    assert 'id="book-form"' not in body
    windows = _upload(client, text.replace("\n", "\r\n"), "march-again.csv", book=False)
    assert windows.status_code == 422 and 'id="known-file"' in windows.get_data(as_text=True)  # same file, saved again
    forced = _upload(client, text).get_data(as_text=True)
    assert "already uploaded on" in forced and staff_a.officer.email in forced and "nothing was booked again" in forced
    assert _written(staff_a.institution_id) == (1, 1, 2)


def test_a_later_statement_repeating_booked_lines_books_only_the_new_ones(client, staff_a, as_user):
    loan = make_loan(staff_a, disbursed_on=date(2025, 1, 15))
    ref = reference_for_loan(loan.id)
    as_user(staff_a.officer)
    _upload(client, HEADER + f"2025-02-15,106.69,{ref},Amina\n", "week-1.csv")
    later = HEADER + f"2025-02-15,106.69,{ref},Amina\n2025-03-15,106.69,{ref},Amina\n"
    preview = _upload(client, later, "month.csv", book=False).get_data(as_text=True)
    assert "Already booked from an earlier statement (1)" in preview and "Matched (1)" in preview
    assert "1 payment booked." in _upload(client, later, "month.csv").get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        from core.services import loans

        assert [e.value_date for e in loans.get_loan(loan.id).ledger] == [date(2025, 2, 15), date(2025, 3, 15)]


def test_two_equal_transfers_in_one_file_are_two_payments(client, staff_a, as_user):
    loan = make_loan(staff_a, disbursed_on=date(2025, 1, 15))
    line = f"2025-02-15,50.00,{reference_for_loan(loan.id)},Amina\n"
    as_user(staff_a.officer)
    assert "2 payments booked." in _upload(client, HEADER + line + line).get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        assert sorted(l.occurrence for l in db.session.scalars(select(StatementLine))) == [1, 2]
    # the same two lines in the next statement, with a third equal one: only the third is new
    assert "1 payment booked." in _upload(client, HEADER + line * 3, "next.csv").get_data(as_text=True)
    assert _written(staff_a.institution_id)[0] == 3


def test_a_line_with_another_institutions_reference_is_named_and_nothing_is_booked(client, staff_a, staff_b, as_user):
    ours = make_loan(staff_a, disbursed_on=date(2025, 1, 15))
    theirs = make_loan(staff_b, principal="9000", product_code="impulskrediet", own_contribution="0")
    text = (HEADER + f"2025-02-15,106.69,{reference_for_loan(ours.id)},Amina\n"
            f"2025-02-15,99.00,{reference_for_loan(theirs.id)},Somebody\n")
    before_b = _written(staff_b.institution_id)
    as_user(staff_a.officer)
    preview = _upload(client, text, book=False)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 422 and "Line 3, column reference" in body
    assert "No loan of your institution carries this reference" in body and 'id="book-form"' not in body
    forced = _upload(client, text)
    assert forced.status_code == 422 and "nothing was booked" in forced.get_data(as_text=True)
    assert _written(staff_a.institution_id) == (0, 0, 0)
    assert _written(staff_b.institution_id) == before_b


def test_bad_files_and_bad_lines_are_named_and_nothing_is_written(client, staff_a, as_user):
    loan = make_loan(staff_a, disbursed_on=date(2025, 1, 15))
    ref = reference_for_loan(loan.id)
    as_user(staff_a.officer)
    not_csv = post(client, "/loans/statement", {"statement": (io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\xff"), "photo.png")},
                   token_from="/loans/statement", content_type="multipart/form-data")
    assert not_csv.status_code == 422 and "Choose a CSV file (UTF-8)." in not_csv.get_data(as_text=True)
    no_header = _upload(client, "hello,world\n1,2\n", book=False).get_data(as_text=True)
    assert "column date: This column is missing." in no_header
    bad = HEADER + f"2025-02-15,12.345,{ref},Amina\n2025-02-16,1O.00,{ref},Amina\n2025-02-17,10.00,{ref},Amina\n"
    preview = _upload(client, bad, book=False).get_data(as_text=True)
    assert "Line 2, column amount" in preview and "Line 3, column amount" in preview
    assert _upload(client, bad).status_code == 422
    future = HEADER + f"2999-01-01,10.00,{ref},Amina\n"
    refused = _upload(client, future)
    assert refused.status_code == 422 and "Line 2: A payment cannot be dated in the future." in refused.get_data(as_text=True)
    early = HEADER + f"2024-12-31,10.00,{ref},Amina\n"
    assert "before the disbursement" in _upload(client, early).get_data(as_text=True)
    assert _written(staff_a.institution_id) == (0, 0, 0)


def _queued_line(client, staff, counterparty="Unknown payer", amount="106.69") -> int:
    _upload(client, HEADER + f"2025-02-15,{amount},,{counterparty}\n", f"{counterparty}.csv")
    with acting_for(staff.institution_id):
        [line] = [l for l in statements.queued() if l.counterparty == counterparty]
        return line.id


def test_a_queued_line_is_booked_on_the_loan_a_person_names(client, staff_a, staff_b, as_user):
    loan = make_loan(staff_a, disbursed_on=date(2025, 1, 15))
    theirs = make_loan(staff_b, principal="9000", product_code="impulskrediet", own_contribution="0")
    as_user(staff_a.officer)
    line_id = _queued_line(client, staff_a)
    queue = client.get("/loans/statements/queue").get_data(as_text=True)
    assert "Unknown payer" in queue and f'id="line-{line_id}"' in queue
    url = f"/loans/statements/lines/{line_id}/assign"
    for typed, message in (("", "Enter the loan number"), ("abc", "Enter the loan number"),
                           (f"#{theirs.id}", f"Your institution has no loan #{theirs.id}.")):
        answer = post(client, url, {f"line{line_id}-loan": typed}, token_from="/loans/statements/queue")
        body = answer.get_data(as_text=True)
        assert answer.status_code == 422 and message in body and f'value="{typed}"' in body
    assert _written(staff_a.institution_id)[0] == 0
    done = post(client, url, {f"line{line_id}-loan": reference_for_loan(loan.id)}, token_from="/loans/statements/queue")
    assert done.status_code == 303
    page = client.get("/loans/statements/queue").get_data(as_text=True)
    assert "The line was booked on the loan." in page and f'id="line-{line_id}"' not in page
    assert "Assigned to a loan" in page and f"#{loan.id}" in page
    with acting_for(staff_a.institution_id):
        from core.services import loans

        [entry] = loans.get_loan(loan.id).ledger
        assert (entry.amount, entry.source, entry.note) == (Decimal("106.69"), "statement", "Unknown payer")
        stored = db.session.get(StatementLine, line_id)
        assert (stored.state, stored.loan_id, stored.ledger_entry_id, stored.resolved_by_id) == \
            ("assigned", loan.id, entry.id, staff_a.officer.id)
    again = post(client, url, {f"line{line_id}-loan": f"#{loan.id}"}, token_from="/loans/statements/queue")
    assert again.status_code == 422 and "already dealt with" in again.get_data(as_text=True)
    assert _written(staff_a.institution_id)[0] == 1


def test_a_queued_line_is_dismissed_with_a_reason_and_the_change_is_audited(client, staff_a, as_user):
    as_user(staff_a.officer)
    line_id = _queued_line(client, staff_a, counterparty="Landlord refund")
    url = f"/loans/statements/lines/{line_id}/dismiss"
    empty = post(client, url, {f"line{line_id}-reason": "  "}, token_from="/loans/statements/queue")
    assert empty.status_code == 422 and "Give the reason." in empty.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        assert db.session.get(StatementLine, line_id).state == "queued"
    done = post(client, url, {f"line{line_id}-reason": "Rent refund, not a repayment"}, token_from="/loans/statements/queue")
    assert done.status_code == 303
    page = client.get("/loans/statements/queue").get_data(as_text=True)
    assert "Dismissed" in page and "Rent refund, not a repayment" in page and 'id="queue-empty"' in page
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        changes = [e.changes for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "statement_lines", AuditEntry.record_id == line_id, AuditEntry.action == "update"))]
    assert any("state" in c and "reason" in c for c in changes), changes
    with acting_for(staff_a.institution_id):
        trail = str([e.changes for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "statement_lines", AuditEntry.record_id == line_id))])
    assert "Landlord refund" not in trail and "(secret)" in trail  # the payer's name never in the trail
    assert _written(staff_a.institution_id)[0] == 0


def test_coaches_have_no_statement_pages(client, staff_a, as_user):
    as_user(staff_a.coach)
    assert client.get("/loans/statement").status_code == 403
    assert client.get("/loans/statements/queue").status_code == 403
