"""The audit trail: created, changed, deleted, revealed; secrets never written."""
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models import AuditEntry, User
from core.services import audit
from core.tenancy import acting_for, all_institutions
from tests.conftest import post


def _entries(record_id):
    with all_institutions("test"):
        return db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "users",
                                                           AuditEntry.record_id == record_id)
                                  .order_by(AuditEntry.id)).all()


def test_create_update_delete_are_recorded_without_secrets(app, staff_a):
    created = _entries(staff_a.officer.id)[0]
    assert created.action == "create"
    assert created.changes["email"] == staff_a.officer.email
    assert created.changes["password_hash"] == audit.SECRET
    assert created.institution_id == staff_a.institution_id
    with acting_for(staff_a.institution_id), audit.acting_as("tester"):
        user = db.session.get(User, staff_a.officer.id)
        user.name = "New Name"
        user.password_hash = "x"
        db.session.commit()
        db.session.delete(user)
        db.session.commit()
    entries = _entries(staff_a.officer.id)
    changed = [e for e in entries if e.action == "update"][-1]
    assert changed.changes["name"] == ["Officer Microstart", "New Name"]
    assert changed.changes["password_hash"] == audit.SECRET
    assert changed.actor == "tester"
    assert entries[-1].action == "delete"


def test_reveal_is_recorded(app, staff_a):
    with acting_for(staff_a.institution_id):
        audit.record("reveal", staff_a.officer, {"field": "national_number"})
        db.session.commit()
    assert _entries(staff_a.officer.id)[-1].action == "reveal"


def test_admin_reads_own_trail_filtered(app, as_user, staff_a, staff_b):
    client = as_user(staff_a.admin)
    post(client, "/admin/users/%d/active" % staff_a.coach.id, {"active": "0"}, token_from="/admin/users")
    page = client.get(f"/admin/audit?user={staff_a.admin.id}").get_data(as_text=True)
    assert "active" in page and staff_a.admin.email in page
    assert staff_b.coach.email not in client.get("/admin/audit").get_data(as_text=True)
    filtered = client.get(f"/admin/audit?record_type=users&record_id={staff_a.officer.id}",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert staff_a.officer.email in filtered and staff_a.coach.email not in filtered
    tomorrow = (clock.today() + timedelta(days=2)).isoformat()
    assert "Nothing recorded for these filters." in client.get(f"/admin/audit?since={tomorrow}").get_data(as_text=True)


def test_audit_filter_fragment_for_htmx(app, as_user, staff_a):
    client = as_user(staff_a.admin)
    response = client.get("/admin/audit?record_type=users", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="audit-rows">') and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/admin/audit", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in full.get_data(as_text=True)


def test_bad_date_filter_is_named_not_fatal(app, as_user, staff_a):
    page = as_user(staff_a.admin).get("/admin/audit?since=25-11-2026").get_data(as_text=True)
    assert "Dates are written YYYY-MM-DD; the wrong one was ignored." in page


def test_trail_is_admin_only(app, as_user, staff_a):
    assert as_user(staff_a.officer).get("/admin/audit").status_code == 403
