"""``microfin import followups``: all or nothing, errors by line and column, another
institution's loan is that line's error; imported answers feed the outcomes."""
from __future__ import annotations

import csv
from datetime import date

import pytest
from sqlalchemy import func, select

from core.cli import main
from core.extensions import db
from core.models.followups import Followup
from core.services.followup_import import COLUMNS
from core.services.reports.common import Period, institution_scope
from core.services.reports.outcomes import outcomes
from core.tenancy import acting_for, all_institutions
from tests.followup_helpers import consent
from tests.reports_data import make_loan, person


def _with_ref(staff, built, ref):
    with acting_for(staff.institution_id):
        loan = db.session.merge(built.loan)
        loan.loan_ref = ref
        db.session.commit()


@pytest.fixture
def portfolio(app, staff_a, staff_b):
    for n in (1, 2):
        client = person(staff_a, last_name=f"Imp{n}")
        _with_ref(staff_a, make_loan(staff_a, client, "5000", date(2022, 2, 1)), f"MS-{n}")
        consent(staff_a, client)
    silent = person(staff_a, last_name="Silent")  # no consent
    _with_ref(staff_a, make_loan(staff_a, silent, "5000", date(2022, 2, 1)), "MS-9")
    other = person(staff_b, last_name="Elsewhere")
    _with_ref(staff_b, make_loan(staff_b, other, "5000", date(2022, 2, 1)), "HB-1")
    consent(staff_b, other)


def row(**values):
    base = {"loan_ref": "MS-1", "months": "12", "answered_on": "2023-02-10", "active": "yes", "stopped_reason": "",
            "situation": "", "jobs_fte": "1.5", "revenue_band": "under_25k", "bank_credit": "no",
            "bank_credit_kind": ""}
    base.update(values)
    return base


def _file(tmp_path, rows, header=COLUMNS):
    path = tmp_path / "followups.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _count():
    with all_institutions("test check"):
        return db.session.scalar(select(func.count()).select_from(Followup))


def test_a_valid_file_is_imported_and_feeds_the_outcomes(portfolio, runner, tmp_path):
    rows = [row(), row(months="24", answered_on="2024-02-11", jobs_fte="2"),
            row(loan_ref="MS-2", active="no", jobs_fte="", stopped_reason="health", situation="job_seeker",
                bank_credit="yes", bank_credit_kind="mortgage")]
    result = runner.invoke(main, ["import", "followups", str(_file(tmp_path, rows)), "--institution", "microstart"])
    assert result.exit_code == 0, result.output
    assert "imported 3 follow-up(s) from 3 row(s)" in result.output
    figures = outcomes(institution_scope("microstart"), Period(date(2022, 1, 1), date(2022, 12, 31)))
    assert figures["active_after_months"]["12"] == {"followed": 2, "answered": 2, "active": 1}
    assert figures["bank_credit_after_months"]["12"] == {"followed": 2, "answered": 2, "bank_credit": 1}
    assert figures["jobs_created"] == {"answered": 2, "fte": "2.0"}
    again = runner.invoke(main, ["import", "followups", str(_file(tmp_path, rows[:1])), "--institution", "microstart"])
    assert again.exit_code != 0 and "line 2, column months: This follow-up is already answered." in again.output


def test_bad_rows_write_nothing_and_name_line_and_column(portfolio, runner, tmp_path):
    rows = [row(),
            row(loan_ref="HB-1"),                   # Hefboom's loan: not microStart's
            row(loan_ref="NOPE"),
            row(loan_ref="MS-9"),                   # client without consent
            row(loan_ref="MS-2", jobs_fte="-1"),
            row(loan_ref="MS-2", months="24", revenue_band="millions"),
            row(loan_ref="MS-2", months="0", answered_on="2099-01-01"),
            row(months="12")]                      # line 2 again
    result = runner.invoke(main, ["import", "followups", str(_file(tmp_path, rows)), "--institution", "microstart"])
    assert result.exit_code != 0
    out = result.output
    for expected in ("line 3, column loan_ref: The institution has no loan with this reference.",
                     "line 4, column loan_ref", "line 5, column loan_ref", "line 6, column jobs_fte",
                     "line 7, column revenue_band", "line 8, column months", "line 8, column answered_on",
                     "line 9, column months: Line 2 has the same loan and months."):
        assert expected in out, out
    assert "line 2," not in out and "nothing was written" in out
    assert _count() == 0


def test_a_bad_header_or_institution_is_refused(portfolio, runner, tmp_path):
    path = _file(tmp_path, [row()], header=[c for c in COLUMNS if c != "months"])
    result = runner.invoke(main, ["import", "followups", str(path), "--institution", "microstart"])
    assert result.exit_code != 0 and "line 1, column months: This column is missing." in result.output
    unknown = runner.invoke(main, ["import", "followups", str(path), "--institution", "nowhere"])
    assert unknown.exit_code != 0 and "no institution" in unknown.output
    assert _count() == 0
