"""A draft application can be changed and deleted (issue 11, point 6), over real HTTP: the form
comes back filled in, a bad value is named next to its field with what was typed kept and nothing
changed, a stale form is refused; deleting asks for a confirmation; a submitted application can be
neither changed nor deleted."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from core.models import AuditEntry, Loan
from core.services import loans
from core.tenancy import acting_for
from tests.conftest import post
from tests.loans_data import application, make_loan


def _loan(staff, loan_id):
    db.session.expire_all()
    with acting_for(staff.institution_id):
        return db.session.get(Loan, loan_id)


def test_a_draft_is_changed_from_its_filled_in_form(client, staff_a, as_user):
    loan = make_loan(staff_a, status="draft")
    version = loan.version
    as_user(staff_a.officer)
    url = f"/loans/{loan.id}/edit"
    assert f'href="{url}"' in client.get(f"/loans/{loan.id}").get_data(as_text=True)
    form = client.get(url).get_data(as_text=True)
    assert 'value="6,000.00"' in form and 'value="24"' in form and "A food truck" in form
    bad = post(client, url, application(principal="99999", purpose="Three trucks", version=version), token_from=url)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'value="99999"' in body and "Three trucks" in body
    assert "may not exceed 25000" in body
    letters = post(client, url, application(term_months="2x", version=version), token_from=url)
    assert letters.status_code == 422 and 'value="2x"' in letters.get_data(as_text=True)
    assert "Enter a whole number of months." in letters.get_data(as_text=True)
    assert (_loan(staff_a, loan.id).principal, _loan(staff_a, loan.id).term_months) == (Decimal("6000.00"), 24)
    done = post(client, url, application(principal="7500", term_months="36", purpose="Two food trucks",
                                         version=version), token_from=url)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/loans/{loan.id}")
    changed = _loan(staff_a, loan.id)
    assert (changed.principal, changed.term_months, changed.purpose, changed.status) == \
        (Decimal("7500.00"), 36, "Two food trucks", "draft")
    stale = post(client, url, application(principal="8000", version=version), token_from=url)
    assert stale.status_code == 409 and "Someone else changed this application" in stale.get_data(as_text=True)
    assert _loan(staff_a, loan.id).principal == Decimal("7500.00")


def test_a_submitted_application_can_no_longer_be_changed_or_deleted(client, staff_a, as_user):
    loan = make_loan(staff_a, status="submitted")
    as_user(staff_a.officer)
    url = f"/loans/{loan.id}/edit"
    page = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    assert f'href="{url}"' not in page and 'id="delete-draft-form"' not in page
    assert client.get(url).status_code == 303
    version = _loan(staff_a, loan.id).version
    changed = post(client, url, application(principal="7000", version=version), token_from=f"/loans/{loan.id}")
    assert changed.status_code == 422 and "no longer at this step" in changed.get_data(as_text=True)
    assert 'value="7000"' in changed.get_data(as_text=True)
    deleted = post(client, f"/loans/{loan.id}/delete", {"version": version, "confirmed": "y"},
                   token_from=f"/loans/{loan.id}")
    assert deleted.status_code == 422 and "no longer at this step" in deleted.get_data(as_text=True)
    kept = _loan(staff_a, loan.id)
    assert (kept.status, kept.principal) == ("submitted", Decimal("6000.00"))


def test_a_draft_is_deleted_once_confirmed_and_the_deletion_is_audited(client, staff_a, as_user):
    loan = make_loan(staff_a, status="draft")
    loan_id, client_id, version = loan.id, loan.client_id, loan.version
    as_user(staff_a.officer)
    page = f"/loans/{loan_id}"
    unconfirmed = post(client, f"/loans/{loan_id}/delete", {"version": version}, token_from=page)
    assert unconfirmed.status_code == 422 and "Tick the box to confirm." in unconfirmed.get_data(as_text=True)
    assert _loan(staff_a, loan_id) is not None
    done = post(client, f"/loans/{loan_id}/delete", {"version": version, "confirmed": "y"}, token_from=page)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/loans/client/{client_id}")
    assert _loan(staff_a, loan_id) is None
    assert client.get(page).status_code == 404
    with acting_for(staff_a.institution_id):
        assert loans.loans_of(client_id) == []
        actions = [e.action for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "loans", AuditEntry.record_id == loan_id))]
    assert "delete" in actions


def test_coaches_neither_change_nor_delete_applications(client, staff_a, as_user):
    loan = make_loan(staff_a, status="draft")
    as_user(staff_a.coach)
    assert client.get(f"/loans/{loan.id}/edit").status_code == 403
    assert post(client, f"/loans/{loan.id}/delete", {"version": loan.version, "confirmed": "y"}).status_code == 403
    assert _loan(staff_a, loan.id) is not None
