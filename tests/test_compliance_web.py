"""The compliance pages over real HTTP: institution admins answer, auditors review, bad input refused."""
import io

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Answer, Assessment, EvidenceFile
from tests.compliance_helpers import answer_all, load, new_assessment, submit
from tests.conftest import csrf_token, post

TWO = [("1.1", "1", True, "all"), ("1.2", "1", False, "all")]


@pytest.fixture
def catalogue(app):
    return load(TWO)


@pytest.fixture
def assessment(staff_a, catalogue):
    return new_assessment(staff_a, catalogue)


def _clause(catalogue, key):
    return next(c for c in catalogue.clauses if c.key == key)


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model).execution_options(
        microfin_all_institutions=True))


def test_admin_starts_a_self_assessment_and_bad_dates_keep_what_was_typed(as_user, staff_a, catalogue):
    client = as_user(staff_a.admin)
    page = client.get("/compliance/")
    assert page.status_code == 200 and "Start a self-assessment" in page.get_data(as_text=True)
    bad = post(client, "/compliance/assessments", {"catalogue_id": str(catalogue.id), "period_start": "2025-12-31",
                                                   "period_end": "2025-01-01"}, token_from="/compliance/")
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "The period must end after it starts." in body and 'value="2025-12-31"' in body
    assert _count(Assessment) == 0
    good = post(client, "/compliance/assessments", {"catalogue_id": str(catalogue.id), "period_start": "2025-01-01",
                                                    "period_end": "2025-12-31"}, token_from="/compliance/")
    assert good.status_code == 302 and _count(Assessment) == 1


def test_officers_and_auditors_cannot_open_the_institution_pages(app, staff_a, auditor, assessment):
    from tests.conftest import login

    for user in (staff_a.officer, auditor):
        client = app.test_client()
        login(client, user)
        assert client.get(f"/compliance/assessments/{assessment.id}").status_code == 403


def test_answer_through_htmx_and_not_applicable_without_reason_is_refused(as_user, staff_a, catalogue, assessment):
    client = as_user(staff_a.admin)
    clause = _clause(catalogue, "1.2")
    url = f"/compliance/assessments/{assessment.id}/clauses/{clause.id}"
    prefix = f"c{clause.id}-"
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_token(client, f"/compliance/assessments/{assessment.id}")}
    refused = client.post(url, data={prefix + "answer": "not_applicable", prefix + "reason": "",
                                     prefix + "comment": "we only lend to starters"}, headers=headers)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and body.lstrip().startswith(f'<article id="clause-{clause.id}"')
    assert "Say why this clause does not apply" in body and "we only lend to starters" in body
    assert _count(Answer) == 0
    saved = client.post(url, data={prefix + "answer": "not_applicable", prefix + "reason": "No investors",
                                   prefix + "links": "https://example.org/policy"}, headers=headers)
    assert saved.status_code == 200 and "Not applicable" in saved.get_data(as_text=True)
    row = db.session.scalar(select(Answer).execution_options(microfin_all_institutions=True))
    assert (row.answer, row.reason, row.links) == ("not_applicable", "No investors", ["https://example.org/policy"])


def _upload(client, assessment, clause, name, data):
    return client.post(f"/compliance/assessments/{assessment.id}/clauses/{clause.id}/files",
                       data={"file": (io.BytesIO(data), name),
                             "csrf_token": csrf_token(client, f"/compliance/assessments/{assessment.id}")},
                       content_type="multipart/form-data")


def test_uploads_are_checked_and_served_only_to_the_owner_and_auditors(make_app, staff_a, staff_b):
    app = make_app(MICROFIN_EVIDENCE_MAX_BYTES=2048)
    from tests.conftest import login

    with app.app_context():
        catalogue = load(TWO)
        assessment = new_assessment(staff_a, catalogue)
        clause = _clause(catalogue, "1.1")
        client = app.test_client()
        login(client, staff_a.admin)
        for name, data, message in [("../../secret.pdf", b"%PDF-1.4", "may not contain a path"),
                                    ("run.sh", b"#!/bin/sh", "not accepted"),
                                    ("big.pdf", b"%PDF-" + b"0" * 4096, "larger than"),
                                    ("photo.png", b"GIF89a", "not a PNG file")]:
            response = _upload(client, assessment, clause, name, data)
            assert response.status_code == 422 and message in response.get_data(as_text=True), name
        assert _count(EvidenceFile) == 0
        assert _upload(client, assessment, clause, "rapport annuel.pdf", b"%PDF-1.7 ok").status_code == 302
        record = db.session.scalar(select(EvidenceFile).execution_options(microfin_all_institutions=True))
        download = client.get(f"/compliance/files/{record.id}")
        assert download.status_code == 200 and download.data == b"%PDF-1.7 ok"
        assert "attachment" in download.headers["Content-Disposition"]
        other = app.test_client()
        login(other, staff_b.admin)
        assert other.get(f"/compliance/files/{record.id}").status_code == 404
        from core.services import accounts

        auditor = accounts.create_user(email="aud@fed.test", name="Aud", role="auditor", institution_id=None,
                                       password="correct horse battery")
        federation = app.test_client()
        login(federation, auditor)
        assert federation.get(f"/federation/files/{record.id}").status_code == 404  # still a draft
        answer_all(staff_a, assessment, {"1.1": "met", "1.2": "met"})
        submit(staff_a, assessment)
        assert federation.get(f"/federation/files/{record.id}").data == b"%PDF-1.7 ok"
        from core.models import AuditEntry

        trail = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "download")
                                   .execution_options(microfin_all_institutions=True)).all()
        assert [(e.actor, e.institution_id) for e in trail] == [("aud@fed.test", staff_a.institution_id)]
        assert federation.get(f"/compliance/files/{record.id}").status_code == 403


def test_auditor_cannot_edit_answers_and_institution_cannot_approve(app, staff_a, auditor, catalogue, assessment):
    from tests.conftest import login

    answer_all(staff_a, assessment, {"1.1": "met", "1.2": "met"})
    clause = _clause(catalogue, "1.1")
    federation = app.test_client()
    login(federation, auditor)
    response = post(federation, f"/compliance/assessments/{assessment.id}/clauses/{clause.id}",
                    {f"c{clause.id}-answer": "not_met"})
    assert response.status_code == 403
    institution = app.test_client()
    login(institution, staff_a.admin)
    response = post(institution, f"/federation/assessments/{assessment.id}/status", {"action": "approve"})
    assert response.status_code == 403
    db.session.expire_all()
    rows = db.session.scalars(select(Answer.answer).execution_options(microfin_all_institutions=True))
    assert sorted(rows) == ["met", "met"]
    status = db.session.scalar(select(Assessment.status).execution_options(microfin_all_institutions=True))
    assert status == "draft"


def test_full_review_over_http(app, staff_a, staff_b, auditor, catalogue, assessment):
    from tests.conftest import login

    institution = app.test_client()
    login(institution, staff_a.admin)
    page = f"/compliance/assessments/{assessment.id}"
    refused = post(institution, f"{page}/submit", token_from=page)
    assert refused.status_code == 422 and "Still open: 1.1, 1.2" in refused.get_data(as_text=True)
    answer_all(staff_a, assessment, {"1.1": "met", "1.2": "partly"})
    assert post(institution, f"{page}/submit", token_from=page).status_code == 302

    federation = app.test_client()
    login(federation, auditor)
    board = federation.get("/federation/").get_data(as_text=True)
    assert "microStart" in board and "submitted" in board and "50% (1/2)" in board
    review = f"/federation/assessments/{assessment.id}"
    assert post(federation, f"{review}/status", {"action": "review"}, token_from=review).status_code == 302
    refused = post(federation, f"{review}/status", {"action": "approve"}, token_from=review)
    assert refused.status_code == 422 and "1 more clause must be met" in refused.get_data(as_text=True)
    clause = _clause(catalogue, "1.2")
    post(federation, f"{review}/clauses/{clause.id}/comments", {"body": "Send the written procedure."},
         token_from=review)
    post(federation, f"{review}/status", {"action": "changes"}, token_from=review)
    assert ">1</td>" in federation.get("/federation/").get_data(as_text=True)  # one open request

    body = institution.get(page).get_data(as_text=True)
    assert "changes requested" in body and "Send the written procedure." in body
    post(institution, f"{page}/clauses/{clause.id}/comments", {"body": "Done, see the answer."}, token_from=page)
    answer_all(staff_a, assessment, {"1.2": "met"})
    post(institution, f"{page}/submit", token_from=page)
    post(federation, f"{review}/status", {"action": "review"}, token_from=review)
    approved = post(federation, f"{review}/status", {"action": "approve"}, token_from=review)
    assert approved.status_code == 302
    body = federation.get(review).get_data(as_text=True)
    assert "approved" in body and "Award test passed" in body and "valid until" in body
    history = federation.get(f"{review}/history").get_data(as_text=True)
    assert "Audrey Auditor" in history and "Admin Microstart" in history
    assert staff_a.admin.email not in history  # names, not e-mail addresses

    post(federation, "/language", {"lang": "fr"})
    csv_fr = federation.get(f"{review}/export.csv")
    assert csv_fr.mimetype == "text/csv"
    lines = csv_fr.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Clause,Section,Prioritaire,S'applique,Texte,Réponse")
    assert lines[1].startswith("1.1,Section 1,oui,oui,Clause 1.1,Respecté")
    pdf = institution.get(f"{page}/export.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"


def test_institutions_never_list_each_others_assessments(app, staff_a, staff_b, catalogue):
    from tests.conftest import login

    new_assessment(staff_b, catalogue, start="2019-03-01", end="2019-09-30")
    client = app.test_client()
    login(client, staff_a.admin)
    body = client.get("/compliance/").get_data(as_text=True)
    assert "No self-assessment yet." in body and "2019" not in body


def test_compare_two_periods_page(app, staff_a, catalogue):
    from tests.conftest import login

    earlier = new_assessment(staff_a, catalogue, start="2023-01-01", end="2023-12-31")
    later = new_assessment(staff_a, catalogue)
    answer_all(staff_a, earlier, {"1.1": "partly"})
    answer_all(staff_a, later, {"1.1": "met"})
    client = app.test_client()
    login(client, staff_a.admin)
    body = client.get(f"/compliance/assessments/{later.id}/compare?with={earlier.id}").get_data(as_text=True)
    assert "1 clause changed." in body



def test_pdf_export_in_dutch_with_accents(app, staff_a, catalogue, assessment):
    import zlib
    import re

    from tests.conftest import login

    answer_all(staff_a, assessment, {"1.1": "not_applicable"})
    client = app.test_client()
    login(client, staff_a.admin)
    post(client, "/language", {"lang": "nl"})
    pdf = client.get(f"/compliance/assessments/{assessment.id}/export.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert 'filename="self-assessment-microStart-2025-01-01-2025-12-31.pdf"' in pdf.headers["Content-Disposition"]
    # Each stream read by its /Length (binary font data may hold "endstream" bytes of its own).
    streams = [pdf.data[m.end():m.end() + int(m.group(1))]
               for m in re.finditer(rb"/Length (\d+)[^>]*>>\s*stream\r?\n", pdf.data)]
    assert streams
    text = b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")
    assert b"Tj" in text or b"TJ" in text  # text was drawn
    assert len(pdf.data) > 5000  # the DejaVu font is embedded


def test_auditor_compares_periods_of_one_institution_only(app, staff_a, staff_b, auditor, catalogue):
    from tests.conftest import login

    earlier = new_assessment(staff_a, catalogue, start="2023-01-01", end="2023-12-31")
    later = new_assessment(staff_a, catalogue)
    foreign = new_assessment(staff_b, catalogue, start="2022-01-01", end="2022-12-31")
    answer_all(staff_a, earlier, {"1.1": "partly", "1.2": "met"})
    answer_all(staff_a, later, {"1.1": "met", "1.2": "not_met"})
    client = app.test_client()
    login(client, auditor)
    assert client.get(f"/federation/assessments/{later.id}/compare?with={earlier.id}").status_code == 404
    submit(staff_a, earlier)
    submit(staff_a, later)
    body = client.get(f"/federation/assessments/{later.id}/compare?with={earlier.id}").get_data(as_text=True)
    assert "2 clauses changed." in body
    assert client.get(f"/federation/assessments/{later.id}/compare?with={foreign.id}").status_code == 404


def test_dashboard_reminds_of_due_and_overdue_dates(app, staff_a, auditor, catalogue, assessment):
    from datetime import timedelta

    from core.services.compliance import assessments as service
    from tests.conftest import login

    answer_all(staff_a, assessment, {"1.1": "met", "1.2": "met"})
    from core import tenancy

    with app.test_request_context(), tenancy.acting_for(staff_a.institution_id):
        service.submit(assessment=assessment, by=staff_a.admin)
    service.start_review(assessment_id=assessment.id, by=auditor)
    # Approved two years minus 30 days ago: the progress report is due in 30 days.
    service.approve(assessment_id=assessment.id, by=auditor,
                    on=service.add_years(service.today(), -2) + timedelta(days=30))
    client = app.test_client()
    login(client, auditor)
    body = client.get("/federation/").get_data(as_text=True)
    assert "Progress report due on" in body and "(in 30 days)" in body
    institution = app.test_client()
    login(institution, staff_a.admin)
    assert "(in 30 days)" in institution.get(f"/compliance/assessments/{assessment.id}").get_data(as_text=True)


def test_a_draft_is_hidden_from_auditors_until_submitted(app, staff_a, auditor, catalogue):
    from tests.conftest import login

    draft = new_assessment(staff_a, catalogue)
    answer_all(staff_a, draft, {"1.1": "met", "1.2": "partly"})
    client = app.test_client()
    login(client, auditor)
    for url in (f"/federation/assessments/{draft.id}", f"/federation/assessments/{draft.id}/history"):
        assert client.get(url).status_code == 404, url
    assert f"/federation/assessments/{draft.id}" not in client.get("/federation/").get_data(as_text=True)
    submit(staff_a, draft)
    assert client.get(f"/federation/assessments/{draft.id}").status_code == 200
    assert f"/federation/assessments/{draft.id}" in client.get("/federation/").get_data(as_text=True)
