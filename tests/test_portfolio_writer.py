"""Portfolio import writing: all rows checked first, then one transaction; the CLI command."""
from __future__ import annotations

import csv

import pytest

from sqlalchemy import func, select

from bench.portfolio_csv import rows
from core import clock
from core.cli import main
from core.extensions import db
from core.models import Client, LedgerEntry, Loan, ScheduleLine
from core.services.portfolio_import import COLUMNS
from core.tenancy import all_institutions


def _write(path, items):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(items)
    return path


def _counts():
    with all_institutions("test counts"):
        return [db.session.scalar(select(func.count()).select_from(m)) for m in (Client, Loan, ScheduleLine)]


def test_cli_imports_a_valid_file_in_one_go(app, runner, tmp_path):
    items = list(rows(40))
    path = _write(tmp_path / "p.csv", items)
    dry = runner.invoke(main, ["import", "portfolio", str(path), "--institution", "microstart", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would import" in dry.output and _counts() == [0, 0, 0]
    result = runner.invoke(main, ["import", "portfolio", str(path), "--institution", "microstart"])
    assert result.exit_code == 0, result.output
    clients, loans, lines = _counts()
    assert loans == 40 and clients == len({r["client_ref"] for r in items}) and lines > 40 * 6
    with all_institutions("test check"):
        repaid = db.session.scalars(select(Loan).where(Loan.status == "repaid")).all()
        assert repaid and all(l.closed_on for l in repaid)
        sources = {e.source for e in db.session.scalars(select(LedgerEntry))}
        assert sources == {"import"}
        # Active loans are imported as up to date: nothing they owe before today is late.

        from core.services import repayments
        from core.tenancy import acting_for

        institution = db.session.scalar(select(Loan.institution_id).limit(1))
        with acting_for(institution):
            active = db.session.scalars(select(Loan).where(Loan.status == "active")).all()
            assert active and all(repayments.position(l, clock.today()).arrears.days_past_due == 0 for l in active)
        one = db.session.scalars(select(Loan).where(Loan.loan_ref == items[0]["loan_ref"])).one()
        schedule = [l for l in one.schedule_lines if l.kind == "microloan"]
        assert str(sum(l.principal for l in schedule)) == items[0]["principal"]
    again = runner.invoke(main, ["import", "portfolio", str(path), "--institution", "microstart"])
    assert again.exit_code != 0 and "loan_ref" in again.output and _counts()[1] == 40


def test_a_bad_row_writes_nothing_and_names_row_and_column(app, runner, tmp_path):
    items = list(rows(30))
    items[7]["principal"] = "90000.00"  # above microStart's 25,000
    items[12]["term_months"] = "abc"
    path = _write(tmp_path / "bad.csv", items)
    result = runner.invoke(main, ["import", "portfolio", str(path), "--institution", "microstart"])
    assert result.exit_code != 0
    assert "line 9, column principal" in result.output and "line 14, column term_months" in result.output
    assert "nothing was written" in result.output
    assert _counts() == [0, 0, 0]


def test_check_arrears_command(app, runner, staff_a):
    from datetime import date

    from tests.loans_data import make_loan

    make_loan(staff_a, principal="1200", term_months="12", disbursed_on=date(2025, 1, 15))
    result = runner.invoke(main, ["loans", "check-arrears", "--on", "2025-03-20"])
    assert result.exit_code == 0 and "2 late instalment(s) told" in result.output
    again = runner.invoke(main, ["loans", "check-arrears", "--on", "2025-03-20"])
    assert "0 late instalment(s) told" in again.output


def test_web_upload_runs_in_the_background_and_reports_progress(app, client, staff_a, as_user, tmp_path):
    import io
    import time

    from tests.conftest import post

    as_user(staff_a.admin)
    items = list(rows(60))
    path = _write(tmp_path / "web.csv", items)
    response = post(client, "/loans/import", {"portfolio": (io.BytesIO(path.read_bytes()), "web.csv")},
                    token_from="/loans/import", content_type="multipart/form-data")
    assert response.status_code == 303
    url = response.headers["Location"]
    for _ in range(100):
        fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        if "hx-trigger" not in fragment:
            break
        time.sleep(0.1)
    assert fragment.startswith('<section id="import-progress"')
    assert "Imported" in fragment and "60 loans" in fragment
    assert _counts()[1] == 60

    items[3]["disbursed_on"] = "2999-01-01"
    path = _write(tmp_path / "bad.csv", items)
    response = post(client, "/loans/import", {"portfolio": (io.BytesIO(path.read_bytes()), "bad.csv")},
                    token_from="/loans/import", content_type="multipart/form-data")
    for _ in range(100):
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        if "Nothing was imported" in page:
            break
        time.sleep(0.1)
    assert "Line 5, column disbursed_on" in page and _counts()[1] == 60


def test_the_import_page_lists_every_column_and_the_rules(client, staff_a, as_user):
    import re

    from core.services.portfolio_import import COLUMN_GUIDE

    as_user(staff_a.admin)
    page = client.get("/loans/import").get_data(as_text=True)
    table = re.search(r'<table id="import-columns">.*?</table>', page, re.S).group(0)
    listed = re.findall(r"<tr><td><code>([a-z_]+)</code></td><td>(required|optional)</td><td>([^<]+)</td>"
                        r"<td><code>([^<]*)</code></td></tr>", table)
    assert [name for name, *_ in listed] == list(COLUMNS)
    assert dict((name, need) for name, need, *_ in listed)["enterprise_number"] == "optional"
    assert sum(need == "required" for _, need, *_ in listed) == len(COLUMNS) - 1
    assert ("birth_date", "required", "Date as YYYY-MM-DD, in the past; the client is at least 18 on the "
            "disbursement date.", "1990-04-12") in listed
    assert 'id="import-rules"' in page and 'href="/loans/import/example.csv"' in page
    from tests.conftest import post

    post(client, "/language", {"lang": "nl"})
    dutch = client.get("/loans/import").get_data(as_text=True)
    assert "De kolommen" in dutch and "verplicht" in dutch and "facultatief" in dutch


def test_the_example_file_is_valid_for_the_institutions_products(app, client, staff_a, staff_b, as_user):
    import io

    from core.services import portfolio_writer
    from core.tenancy import acting_for

    for staff in (staff_a, staff_b):
        with acting_for(staff.institution_id):
            checked = portfolio_writer.check_portfolio(io.StringIO(portfolio_writer.example_csv()))
        assert checked.ok, checked.errors
        assert checked.rows == 2 and len(checked.clients) == 2
    as_user(staff_a.admin)
    response = client.get("/loans/import/example.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'attachment; filename="portfolio-example.csv"' == response.headers["Content-Disposition"]
    header = next(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(header) == COLUMNS
    with acting_for(staff_a.institution_id):
        assert portfolio_writer.check_portfolio(io.StringIO(response.get_data(as_text=True))).ok
    assert _counts() == [0, 0, 0]  # downloading writes nothing


@pytest.mark.parametrize("role", ["officer", "coach"])
def test_only_admins_get_the_example_file(client, staff_a, as_user, role):
    as_user(getattr(staff_a, role))
    assert client.get("/loans/import/example.csv").status_code in (403, 404)
