"""``microfin report impact|portfolio``: output, and bad input refused with exit code 2."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from core.cli import main
from tests.reports_data import make_loan, person


@pytest.fixture
def one_loan(app, staff_a):
    make_loan(staff_a, person(staff_a), "2500.50", date(2025, 4, 2), honour="499.50")


def test_impact_json_of_an_institution(runner, one_loan):
    result = runner.invoke(main, ["report", "impact", "--institution", "microstart", "--from", "2025-01-01",
                                  "--to", "2025-12-31", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scope"] == "microstart" and (data["from"], data["to"]) == ("2025-01-01", "2025-12-31")
    assert data["financed"] == {"persons": 1, "amount": "3000.00"}
    assert data["sectors"]["horeca"] == {"persons": 1, "amount": "3000.00"}


def test_impact_csv_of_the_sector_is_suppressed(runner, one_loan):
    result = runner.invoke(main, ["report", "impact", "--sector", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert ["impact", "financed", "all", "<5", "<5"] in rows


def test_portfolio_json(runner, one_loan):
    result = runner.invoke(main, ["report", "portfolio", "--institution", "microstart", "--at", "2025-04-30",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["gross_outstanding"] == "3000.00" and data["active_borrowers"] == 1  # microloan + honour loan
    assert data["trend"][-1]["month"] == "2025-04"


@pytest.mark.parametrize("args, message", [
    (["impact", "--institution", "microstart", "--from", "2025-12-31", "--to", "2025-01-01", "--format", "json"],
     "--to: The end of the period must not be before its start."),
    (["impact", "--institution", "nowhere", "--format", "json"], "--institution: There is no institution nowhere."),
    (["impact", "--institution", "microstart", "--format", "pdf"], "'pdf' is not one of 'json', 'csv'"),
    (["impact", "--institution", "microstart", "--from", "01/02/2025", "--format", "csv"], "--from: Enter a date"),
    (["portfolio", "--institution", "microstart", "--at", "2025-02-30", "--format", "csv"], "--at: Enter a date"),
    (["impact", "--format", "json"], "either --institution SLUG or --sector"),
    (["impact", "--sector", "--institution", "credal", "--format", "json"], "either --institution SLUG or --sector"),
])
def test_bad_input_exits_with_2(runner, app, args, message):
    result = runner.invoke(main, ["report", *args])
    assert result.exit_code == 2
    assert message in result.output
