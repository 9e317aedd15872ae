"""Automatic query scoping and write checks (core.tenancy)."""
import pytest
from sqlalchemy import func, select, update

from core.extensions import db
from core.models import AuditEntry, User
from core import tenancy
from core.tenancy import TenantViolation, acting_for, all_institutions


def _emails():
    return set(db.session.scalars(select(User.email)))


def test_queries_see_only_the_current_institution(app, staff_a, staff_b):
    with acting_for(staff_a.institution_id):
        assert _emails() == {staff_a.admin.email, staff_a.officer.email, staff_a.coach.email}
        # staff_b.coach sits in this session's identity map; the scoped lookup still refuses it.
        assert tenancy.get(User, staff_b.coach.id) is None
        assert tenancy.get(User, staff_a.coach.id).email == staff_a.coach.email


def test_no_tenant_means_nothing_is_found(app, staff_a):
    db.session.expunge_all()
    assert _emails() == set()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_crossing_tenants_is_explicit(app, staff_a, staff_b):
    with all_institutions("test reads both"):
        assert {staff_a.coach.email, staff_b.coach.email} <= _emails()


def test_bulk_update_is_scoped(app, staff_a, staff_b):
    with acting_for(staff_a.institution_id):
        db.session.execute(update(User).values(name="Renamed"))
        db.session.commit()
    with all_institutions("test checks"):
        db.session.expire_all()
        assert db.session.get(User, staff_b.coach.id).name != "Renamed"
        assert db.session.get(User, staff_a.coach.id).name == "Renamed"


def test_moving_a_record_to_another_institution_is_refused(app, staff_a, staff_b):
    with acting_for(staff_a.institution_id):
        user = db.session.get(User, staff_a.coach.id)
        user.institution_id = staff_b.institution_id
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()


def test_identity_loads_in_a_fresh_session_are_scoped(app, staff_a, staff_b):
    ids = staff_a.officer.id, staff_b.officer.id
    db.session.expunge_all()
    with acting_for(staff_a.institution_id):
        assert db.session.get(User, ids[1]) is None
        assert db.session.get(User, ids[0]).institution_id == staff_a.institution_id
