"""A data subject's export (issue 14, point 5): everything held on a client, for the admin only,
never another institution's, in JSON and PDF, and audited."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from core.extensions import db
from core.models import AuditEntry
from core.tenancy import acting_for
from tests.clients_data import make_client, make_session, national_number
from tests.conftest import login
from tests.loans_data import make_loan, pay


def _signed_in(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def test_the_admin_exports_everything_held_on_a_client(app, staff_a):
    person = make_client(staff_a, first_name="Nadia", last_name="Bakkali")
    make_session(staff_a, person)
    loan = make_loan(staff_a, person, disbursed_on=date(2025, 1, 15))
    pay(staff_a, loan, date(2025, 2, 15), "150")
    http = _signed_in(app, staff_a.admin)
    response = http.get(f"/clients/{person.id}/data-export?format=json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["client"]["last_name"] == "Bakkali"
    assert data["client"]["national_number"] == national_number(date(1985, 7, 30))  # the person's own, in clear
    assert not any(key.endswith(("_hash", "_secret")) for key in data["client"])
    records = data["records"]
    assert [row["id"] for row in records["loans"]] == [loan.id]
    assert len(records["coaching_sessions"]) == 1
    assert any(row["kind"] == "payment" for row in records["loan_ledger"])
    assert records["loan_schedule_lines"] and "submission_tokens" not in records
    assert any(e["record_type"] == "clients" and e["action"] == "create" for e in data["audit_trail"])
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        exported = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert [(e.record_type, e.record_id, e.user_id) for e in exported] == [("clients", person.id, staff_a.admin.id)]
    pdf = http.get(f"/clients/{person.id}/data-export?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert http.get(f"/clients/{person.id}/data-export?format=xml").status_code == 404
    assert 'id="data-export"' in http.get(f"/clients/{person.id}").get_data(as_text=True)


def test_only_the_admin_and_only_of_their_own_institution(app, staff_a, staff_b):
    person = make_client(staff_a)
    for user in (staff_a.officer, staff_a.coach):
        http = _signed_in(app, user)
        assert http.get(f"/clients/{person.id}/data-export").status_code == 403
        assert 'id="data-export"' not in http.get(f"/clients/{person.id}").get_data(as_text=True)
    assert _signed_in(app, staff_b.admin).get(f"/clients/{person.id}/data-export").status_code == 404
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all() == []
