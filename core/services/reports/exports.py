"""Reports as rows for CSV and XLSX. The sheets are built on the JSON keys; they are written for
people (core.services.export_words): translated titles, and each coded column (the table, a
section, an item, a figure) as its label followed by its code. A suppressed cell is the string
``"<5"``. No name or identifier is ever written."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import Workbook

from core.services.reports.cost import cost_rows
from core.services.reports.portfolio import FIGURES, PortfolioReport
from core.services.export_words import REPORT_CODES, sheet_title
from core.services.export_words import for_people as people_sheet
from core.services.spreadsheet_cells import csv_row, xlsx_row

IMPACT_HEADER = ["section", "key", "persons", "amount"]


def impact_rows(report: dict) -> list[list]:
    """One row per cell: ``financed``, then each target group, sector and region."""
    rows = [["financed", "all", report["financed"]["persons"], report["financed"]["amount"]]]
    if "financed_by_several_institutions" in report:  # the sector's figures
        rows.append(["financed_by_several_institutions", "all", report["financed_by_several_institutions"], ""])
    for section in ("target_groups", "sectors", "regions"):
        rows += [[section, key, value["persons"], value["amount"]] for key, value in report[section].items()]
    return rows


def impact_sheets(report: dict) -> dict[str, tuple[list, list[list]]]:
    sheets = {"impact": (IMPACT_HEADER, impact_rows(report))}
    if "cost" in report:
        sheets["cost"] = (["figure", "value"], cost_rows(report["cost"]))
    if "outcomes" in report:
        sheets["outcomes"] = (OUTCOME_HEADER, outcome_rows(report["outcomes"]))
    return sheets


OUTCOME_HEADER = ["figure", "months", "followed", "answered", "count", "fte"]


def outcome_rows(outcomes: dict) -> list[list]:
    """One row per figure and interval: survival, bank credit, at intake, then jobs created."""
    rows = []
    for figure, key in (("active_after_months", "active"), ("bank_credit_after_months", "bank_credit")):
        rows += [[figure, months, cell["followed"], cell["answered"], cell[key], ""]
                 for months, cell in outcomes[figure].items()]
    intake = outcomes["bank_credit_at_intake"]
    rows.append(["bank_credit_at_intake", "", intake["followed"], "", intake["bank_credit"], ""])
    jobs = outcomes["jobs_created"]
    rows.append(["jobs_created", "", "", jobs["answered"], "", jobs["fte"]])
    return rows


def portfolio_sheets(report: PortfolioReport) -> dict[str, tuple[list, list[list]]]:
    """The key figures (one row per figure) and the monthly trend."""
    data = report.as_dict()
    figures = [[key, data[key]] for key in FIGURES]
    trend_header = ["month", "disbursed_loans", "disbursed_amount", "gross_outstanding", "par30", "par90"]
    trend = [[row[k] for k in trend_header] for row in data["trend"]]
    return {"figures": (["figure", "value"], figures), "trend": (trend_header, trend)}


def referral_sheets(report: dict) -> dict[str, tuple[list, list[list]]]:
    header = ["key", "referred", "contacted", "financed", "conversion", "days_to_first_contact"]
    return {name: (header, [[row[k] for k in header] for row in report[name]])
            for name in ("referrer_kind", "region")}


def to_csv(sheets: dict[str, tuple[list, list[list]]], *, for_people: bool = True) -> str:
    """All sheets in one CSV, each row prefixed with its sheet's name. ``for_people=False`` (the
    command line, for scripts) writes the JSON keys and codes only."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    first = True
    for name, (header, rows) in sheets.items():
        if not first:
            writer.writerow([])
        first = False
        titles, cells = ["table", *header], [[name, *row] for row in rows]
        if for_people:
            titles, cells = people_sheet(titles, cells, REPORT_CODES)
        writer.writerow(titles)
        writer.writerows(csv_row(row) for row in cells)
    return out.getvalue()


def to_xlsx(sheets: dict[str, tuple[list, list[list]]]) -> bytes:
    """A workbook with one worksheet per sheet; numbers stay numbers where they are."""
    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(_sheet_name(name))
        titles, cells = people_sheet(header, ([_cell(value) for value in row] for row in rows), REPORT_CODES)
        sheet.append(titles)
        for row in cells:
            sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(name: str) -> str:
    """The translated name of a worksheet, without the characters a sheet name may not hold."""
    return "".join(c for c in sheet_title(name) if c not in "[]:*?/\\")[:31]


def _cell(value):
    """Amounts and ratios (strings in the report) as Decimal numbers; "<5" and keys stay text."""
    if isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit():
        return Decimal(value)
    return value
