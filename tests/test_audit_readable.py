"""The audit trail in words (issue 15, point 3): field labels, translated codes, readable values,
record kinds by name, in the admin's language."""
from __future__ import annotations

import re
from datetime import date

from core.services import clients
from core.tenancy import acting_for
from tests.clients_data import client_data, make_client
from tests.conftest import login, post
from tests.loans_data import make_loan, pay


def _changes_cells(page: str) -> str:
    return " ".join(re.findall(r'<td class="audit-changes">(.*?)</td>', page, flags=re.S))


def test_the_trail_speaks_dutch_with_labels_not_columns(app, staff_a):
    person = make_client(staff_a, first_name="Amina", sector="horeca")
    with acting_for(staff_a.institution_id):
        clients.update_client(person.id, client_data(first_name="Aminata", sector="retail"),
                              user=staff_a.officer, version=person.version)
    http = app.test_client()
    login(http, staff_a.admin)
    post(http, "/language", {"lang": "nl"})
    page = http.get("/admin/audit").get_data(as_text=True)
    changes = _changes_cells(page)
    assert "<strong>Voornaam</strong>: Amina → Aminata" in changes
    assert "<strong>Sector</strong>: Horeca → Buurthandel" in changes
    for raw in ("first_name", "horeca", "retail", "sort_key", "(secret)", "{'"):
        assert raw not in changes, raw
    assert f"Klant #{person.id}" in page and f"clients #{person.id}" not in page
    assert "(geheim, niet bewaard)" in changes  # the national number changed hands unseen
    # the creation lists its many fields folded, and the filter offers kinds by name
    assert re.search(r"<summary>\d+ velden</summary>", changes)
    assert '<option value="clients">Klant</option>' in page
    filtered = http.get("/admin/audit?record_type=clients").get_data(as_text=True)
    assert f"Klant #{person.id}" in filtered and "Gebruiker #" not in filtered


def test_a_booking_reads_as_a_booking(app, staff_a):
    """A code means what its kind of record means: a ledger entry's kind is a booking's label
    (not a consent's), its amount in the reader's format."""
    loan = make_loan(staff_a, disbursed_on=date(2025, 1, 15))
    pay(staff_a, loan, date(2025, 2, 15), "1234.50")
    http = app.test_client()
    login(http, staff_a.admin)
    post(http, "/language", {"lang": "nl"})
    changes = _changes_cells(http.get("/admin/audit?record_type=loan_ledger").get_data(as_text=True))
    assert ": Betaling</li>" in changes and ": payment</li>" not in changes
    assert "1.234,50" in changes and "1234.50" not in changes


def test_every_audited_column_of_the_core_has_a_label(app):
    """No column name reaches the trail: each audited column has a form's label or one of
    audit_labels.FIELD_LABELS, or is bookkeeping the trail hides."""
    from core.extensions import db
    from core.models.audit import Audited
    from core.web import audit_labels

    with app.test_request_context():
        unlabelled = sorted(
            f"{mapper.class_.__tablename__}.{column.key}"
            for mapper in db.Model.registry.mappers if issubclass(mapper.class_, Audited)
            for column in mapper.columns
            if column.key not in mapper.class_.__audit_ignore__ and column.key != "id"
            and column.key not in audit_labels.HIDDEN_FIELDS
            and audit_labels.field_label(column.key) == column.key.replace("_", " "))
    assert not unlabelled, unlabelled
