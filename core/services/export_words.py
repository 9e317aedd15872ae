"""Spreadsheets for people: column titles and code labels in the reader's language.

Every CSV and XLSX export of the application writes its header row as translated titles and each
column that holds a code (a sector, a region, a report's figure) as two columns: the translated
label, then the code itself under "<title> (code)", so a person reads the label and a spreadsheet
formula or a script can still filter on the code. Numbers stay machine numbers (a point as the
decimal sign in CSV, typed numbers in XLSX, which the spreadsheet shows in its own locale); dates
are ISO (2026-06-30).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.labels import (GENDER_LABELS, LANGUAGE_LABELS, REGION_LABELS, SECTOR_LABELS, STAGE_LABELS,
                         STATUS_LABELS)
from core.services.reports.cost import BY_KEY as COST_ASSUMPTIONS

COLUMN_TITLES = {
    # reports
    "table": _l("Table"), "section": _l("Breakdown"), "key": _l("Item"), "persons": _l("Persons"),
    "amount": _l("Amount (EUR)"), "figure": _l("Figure"), "value": _l("Value"),
    "months": _l("Months after the first disbursement"), "followed": _l("Followed up"),
    "answered": _l("Answered"), "count": _l("Count"), "fte": _l("Full-time equivalents"),
    "month": _l("Month"), "disbursed_loans": _l("Loans disbursed"),
    "disbursed_amount": _l("Amount disbursed (EUR)"), "gross_outstanding": _l("Gross outstanding (EUR)"),
    "par30": "PAR30", "par90": "PAR90", "referred": _l("Referred"), "contacted": _l("Contacted"),
    "financed": _l("Financed"), "conversion": _l("Conversion"),
    "days_to_first_contact": _l("Days to first contact"),
    # clients
    "id": _l("Client number"), "last_name": _l("Last name"), "first_name": _l("First name"),
    "birth_date": _l("Date of birth"), "gender": _l("Gender"), "email": _l("E-mail"), "phone": _l("Phone"),
    "postal_code": _l("Postal code"), "city": _l("City"), "region": _l("Region"),
    "preferred_language": _l("Language"), "enterprise_name": _l("Enterprise"),
    "enterprise_number": _l("Enterprise number"), "sector": _l("Sector"), "stage": _l("Stage"),
    "status": _l("Status"), "coach": _l("Coach"),
}

SHEET_LABELS = {
    "impact": _l("Impact"), "cost": _l("Cost"), "outcomes": _l("Outcomes"), "figures": _l("Key figures"),
    "trend": _l("Trend by month"), "referrer_kind": _l("By kind of referrer"), "region": _l("By region"),
}
SECTION_LABELS = {
    "financed": _l("Persons financed"),
    "financed_by_several_institutions": _l("People financed by more than one institution"),
    "target_groups": _l("Target groups"), "sectors": _l("Sectors"), "regions": _l("Regions"),
}
TARGET_GROUP_LABELS = {
    "women": _l("Women"), "born_abroad": _l("Born outside Belgium"), "young": _l("Under 30 at disbursement"),
    "low_educated": _l("Low-educated"), "job_seekers": _l("Job seekers"), "disability": _l("With a disability"),
}
REFERRER_KIND_LABELS = {"bank": _l("Bank"), "public": _l("Public financier"), "self": _l("Self-referral")}
#: The item of an impact row or a referral-outcome row: a target group, sector, region or kind of referrer.
ITEM_LABELS = {"all": _l("All"), **TARGET_GROUP_LABELS, **SECTOR_LABELS, **REGION_LABELS,
               **REFERRER_KIND_LABELS}
FIGURE_LABELS = {
    # portfolio
    "active_borrowers": _l("Active borrowers"), "outstanding_loans": _l("Loans outstanding"),
    "gross_outstanding": _l("Gross outstanding portfolio (EUR)"), "par30": "PAR30", "par90": "PAR90",
    "disbursed_loans": _l("Loans disbursed in the period"),
    "disbursed_amount": _l("Amount disbursed in the period (EUR)"),
    "average_loan": _l("Average loan size (EUR)"), "written_off": _l("Written off in the period (EUR)"),
    "write_off_ratio": _l("Write-off ratio"), "repayment_rate": _l("Repayment rate"),
    # cost and social return
    "year": _l("Year"), "budget": _l("Budget of the year (EUR)"), "persons": _l("Persons financed in the year"),
    "cost_per_person": _l("Cost per person financed and coached (EUR)"),
    "social_return": _l("Estimated social return per euro spent (EUR)"),
    "benefit": _l("Social benefit estimated (EUR)"), "job_seekers": _l("Of them job seekers at intake"),
    "institutions_without_budget": _l("Institutions that financed someone without entering a budget"),
    **{f"assumption.{key}": a.label for key, a in COST_ASSUMPTIONS.items()},
    # outcomes
    "active_after_months": _l("Businesses still active"),
    "bank_credit_after_months": _l("With a bank credit since the microcredit"),
    "bank_credit_at_intake": _l("With a bank credit at intake"),
    "jobs_created": _l("Jobs created besides the entrepreneur"),
}
#: Which label table each coded column of a report export reads.
REPORT_CODES = {"table": SHEET_LABELS, "section": SECTION_LABELS, "key": ITEM_LABELS, "figure": FIGURE_LABELS}
#: The coded columns of the client export.
CLIENT_CODES = {"gender": GENDER_LABELS, "region": REGION_LABELS, "preferred_language": LANGUAGE_LABELS,
                "sector": SECTOR_LABELS, "stage": STAGE_LABELS, "status": STATUS_LABELS}


def title(key: str) -> str:
    """A column's title in the current language (the key itself for a column without one)."""
    return str(COLUMN_TITLES.get(key, key))


def sheet_title(key: str) -> str:
    """A worksheet's or a table's name in the current language."""
    return str(SHEET_LABELS.get(key, key))


def header(columns: Iterable[str], coded: Mapping[str, Mapping]) -> list[str]:
    """The header row: each column's title, and after a coded column its code column's title."""
    titles = []
    for key in columns:
        titles.append(title(key))
        if key in coded:
            titles.append(_("%(column)s (code)", column=title(key)))
    return titles


def row(columns: list[str], values: list, coded: Mapping[str, Mapping]) -> list:
    """A data row: each coded value as its label followed by the code (an unknown code, such as a
    plugin's own, as the code in both places); other values as given."""
    cells = []
    for key, value in zip(columns, values):
        table = coded.get(key)
        if table is None:
            cells.append(value)
            continue
        label = table.get(value) if isinstance(value, str) else None
        cells += [str(label) if label is not None else value, value]
    return cells


def for_people(columns: list[str], rows: Iterable[list], coded: Mapping[str, Mapping]) -> tuple[list, list[list]]:
    """(header, rows) of a sheet written for people, see :func:`header` and :func:`row`."""
    return header(columns, coded), [row(columns, values, coded) for values in rows]
