"""A data subject's export (GDPR art. 15 and 20): everything the institution holds on one client.

Found by the data model rather than by a list kept by hand, so a new table (core's or a plugin's)
is exported the day it exists: every tenant-owned table with a ``client_id`` column gives the
client's rows, and every table with a ``loan_id`` column the rows of the client's loans. The
audit trail's entries about those rows come last. Stored hashes and ciphertexts are left out; the
national number is given in clear (it is the person's own). The export itself is audited.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, or_, select

from core.extensions import db
from core.models import AuditEntry, Client, Loan, Referral
from core.models.referrals import ReferralOffer
from core.models.types import utcnow
from core.services import audit, clients, identifiers
from core.services.errors import NotFound
from core.tenancy import TenantOwned
from core.services.pdf import new_document

FORMAT_VERSION = 1
#: columns that hold no information for the person, only for the machine
_LEFT_OUT_SUFFIXES = ("_hash", "_secret", "_key")
_LEFT_OUT = {"version", "institution_id", "token_hash"}
#: tables of machinery, not of the person (double-submit guards)
_LEFT_OUT_TABLES = {"submission_tokens"}


def _row(obj) -> dict:
    return {attr.key: audit.plain(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs
            if attr.key not in _LEFT_OUT and not attr.key.endswith(_LEFT_OUT_SUFFIXES)}


def _models_with(column: str, skip: tuple = ()) -> list:
    """Tenant-owned mapped classes with a ``column`` column, by table name."""
    found = []
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        if (issubclass(model, TenantOwned) and model not in skip and column in mapper.columns
                and mapper.local_table is not None and model.__tablename__ not in _LEFT_OUT_TABLES):
            found.append(model)
    return sorted(found, key=lambda model: model.__tablename__)


def _rows_of(model, column: str, ids: list[int]) -> list:
    if not ids:
        return []
    return list(db.session.scalars(select(model).where(getattr(model, column).in_(ids))
                                   .order_by(*inspect(model).primary_key)))


def collect(client_id: int, *, user) -> dict:
    """The export of client ``client_id`` as plain data (JSON-ready), for an admin; audited.

    Raises ``NotFound`` for another institution's client or a role that is not admin."""
    if user.role != "admin":
        raise NotFound()
    client = clients.get_client(client_id)
    person = _row(client)
    if client.national_number_secret:
        person["national_number"] = identifiers.decrypt(client.national_number_secret)
    sections: dict[str, list[dict]] = {}
    records = [(Client.__tablename__, client.id)]
    for model in _models_with("client_id", skip=(Client,)):
        rows = _rows_of(model, "client_id", [client.id])
        if rows:
            sections[model.__tablename__] = [_row(row) for row in rows]
            records += [(model.__tablename__, row.id) for row in rows if hasattr(row, "id")]
    loan_ids = [row["id"] for row in sections.get(Loan.__tablename__, [])]
    for model in _models_with("loan_id", skip=tuple(_models_with("client_id"))):
        rows = _rows_of(model, "loan_id", loan_ids)
        if rows:
            sections[model.__tablename__] = [_row(row) for row in rows]
            records += [(model.__tablename__, row.id) for row in rows if hasattr(row, "id")]
    referral_ids = [row["referral_id"] for row in sections.get(ReferralOffer.__tablename__, [])]
    if referral_ids:  # the registry's own record of a referral the client came through
        rows = db.session.scalars(select(Referral).where(Referral.id.in_(referral_ids)).order_by(Referral.id))
        sections[Referral.__tablename__] = [_row(row) for row in rows]
    trail = _trail(records)
    audit.record("export", client, {"what": "subject data", "sections": sorted(sections)})
    db.session.commit()
    return {"format_version": FORMAT_VERSION, "exported_at": utcnow().isoformat(),
            "exported_by": user.email, "institution_id": client.institution_id,
            "client": person, "records": sections, "audit_trail": trail}


def _trail(records: list[tuple[str, int]]) -> list[dict]:
    """The trail's entries about the exported rows (who did what and when), oldest first."""
    by_type: dict[str, list[int]] = {}
    for table, ident in records:
        by_type.setdefault(table, []).append(ident)
    conditions = [(AuditEntry.record_type == table) & AuditEntry.record_id.in_(ids) for table, ids in by_type.items()]
    entries = db.session.scalars(select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.id))
    return [{"at": audit.plain(e.at), "actor": e.actor, "action": e.action, "record_type": e.record_type,
             "record_id": e.record_id, "changes": audit.opened(e)} for e in entries]


def section_title(table: str) -> str:
    """A section's heading in the reader's language (a plugin's table by its name)."""
    return str(SECTION_TITLES.get(table, table.replace("_", " ")))


def to_pdf(data: dict) -> bytes:
    """The same export as a readable document: the person, each section's rows, the trail."""
    pdf = new_document()
    person = data["client"]
    _heading(pdf, _("Personal data held on %(name)s", name=f"{person['first_name']} {person['last_name']}"), 14)
    _line(pdf, _("Exported on %(at)s by %(by)s", at=data["exported_at"][:16].replace("T", " "), by=data["exported_by"]))
    _heading(pdf, section_title("clients"))
    _pairs(pdf, person)
    for table, rows in data["records"].items():
        _heading(pdf, f"{section_title(table)} ({len(rows)})")
        for row in rows:
            _pairs(pdf, row)
            pdf.ln(1)
    _heading(pdf, _("Who did what, and when"))
    for entry in data["audit_trail"]:
        _line(pdf, f"{entry['at'][:16].replace('T', ' ')} · {entry['actor']} · {entry['action']} · "
                   f"{section_title(entry['record_type'])} #{entry['record_id']}")
    return bytes(pdf.output())


def _heading(pdf, text: str, size: int = 11) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", size)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)


def _line(pdf, text: str) -> None:
    pdf.multi_cell(0, 4, text, new_x="LMARGIN", new_y="NEXT")


def _pairs(pdf, row: dict) -> None:
    _line(pdf, " · ".join(f"{key}: {value}" for key, value in row.items() if value not in (None, "")))


SECTION_TITLES = {
    "clients": _l("Identity, contact details and enterprise"),
    "client_notes": _l("Notes"),
    "consents": _l("Consents"),
    "loans": _l("Loans"),
    "loan_schedule_lines": _l("Repayment schedules"),
    "loan_positions": _l("What is owed on each loan"),
    "loan_late_notices": _l("Late-payment notices"),
    "loan_field_values": _l("Other loan fields of the institution"),
    "statement_lines": _l("Bank-statement lines"),
    "coaching_tracks": _l("Coaching tracks"),
    "referral_offers": _l("Referrals received"),
    "referrals": _l("The referral as sent by the bank or financier"),
    "loan_ledger": _l("Payments and other bookings"),
    "coaching_sessions": _l("Coaching sessions"),
    "enrolments": _l("Trainings"),
    "followups": _l("Follow-ups"),
    "client_field_values": _l("Other fields of the institution"),
}
