"""Self-assessment services: answers, evidence files, the review workflow, due dates, comparison."""
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from core import tenancy
from core.extensions import db
from core.models import Answer, AuditEntry, EvidenceFile
from core.plugin_api import Evidence, EvidenceProvider, hookimpl
from core.services.compliance import assessments, evidence
from core.services.errors import NotFound, ValidationFailed
from tests.compliance_helpers import answer_all, load, new_assessment



@pytest.fixture(autouse=True)
def request_context(app):
    """Error messages are translated lazily, in the language of a request."""
    with app.test_request_context():
        yield


THREE = [("1.1", "1", True, "all"), ("1.2", "1", False, "all"), ("2.1", "2", False, "larger")]


@pytest.fixture
def setup(app, staff_a):
    catalogue = load(THREE)
    return catalogue, new_assessment(staff_a, catalogue)


def _clause(assessment, key):
    return next(c for c in assessment.catalogue.clauses if c.key == key)


def test_not_applicable_needs_a_reason_and_keeps_the_previous_answer(setup, staff_a):
    _catalogue, assessment = setup
    answer_all(staff_a, assessment, {"1.2": "met"})
    with tenancy.acting_for(staff_a.institution_id):
        with pytest.raises(ValidationFailed) as caught:
            assessments.save_answer(assessment=assessment, clause=_clause(assessment, "1.2"),
                                    by=staff_a.admin, answer="not_applicable", reason="  ")
        assert set(caught.value.errors) == {"reason"}
        db.session.rollback()
        assert db.session.scalar(select(Answer.answer)) == "met"


def test_links_must_be_web_addresses(setup, staff_a):
    _catalogue, assessment = setup
    with tenancy.acting_for(staff_a.institution_id):
        with pytest.raises(ValidationFailed) as caught:
            assessments.save_answer(assessment=assessment, clause=_clause(assessment, "1.1"),
                                    by=staff_a.admin, answer="met", links="https://ok.example\njavascript:alert(1)")
        assert "javascript:alert(1)" in str(caught.value.errors["links"])


def test_only_the_institution_admin_edits_answers(setup, staff_a, auditor):
    _catalogue, assessment = setup
    for user in (staff_a.officer, auditor):
        with tenancy.acting_for(staff_a.institution_id), pytest.raises(ValidationFailed):
            assessments.save_answer(assessment=assessment, clause=_clause(assessment, "1.1"),
                                    by=user, answer="met")
    assert db.session.scalar(select(func.count()).select_from(Answer).execution_options(
        microfin_all_institutions=True)) == 0


def test_submit_needs_every_applicable_clause_answered(setup, staff_a):
    _catalogue, assessment = setup
    answer_all(staff_a, assessment, {"1.1": "met"})
    with tenancy.acting_for(staff_a.institution_id):
        with pytest.raises(ValidationFailed, match="Still open: 1.2"):
            assessments.submit(assessment=assessment, by=staff_a.admin)
        assert assessment.status == "draft"


def test_review_workflow_to_approval_with_due_dates(setup, staff_a, auditor):
    _catalogue, assessment = setup
    answer_all(staff_a, assessment, {"1.1": "met", "1.2": "partly"})
    with tenancy.acting_for(staff_a.institution_id):
        assessments.submit(assessment=assessment, by=staff_a.admin)
        with pytest.raises(ValidationFailed):  # an institution user cannot approve
            assessments.approve(assessment_id=assessment.id, by=staff_a.admin)
    assessments.start_review(assessment_id=assessment.id, by=auditor)
    # 1/2 met: the award test fails, approval is refused with what is missing.
    with pytest.raises(ValidationFailed, match="1 more clause"):
        assessments.approve(assessment_id=assessment.id, by=auditor)
    assessments.add_comment(assessment_id=assessment.id, clause_id=_clause(assessment, "1.2").id,
                            by=auditor, body="Show the written procedure.")
    assessments.request_changes(assessment_id=assessment.id, by=auditor)
    with tenancy.acting_for(staff_a.institution_id):
        fresh = assessments.get(assessment.id)
        assert fresh.status == "changes_requested"
        assert assessments.view(fresh).open_requests == 1
        assessments.add_comment(assessment=fresh, clause_id=_clause(fresh, "1.2").id, by=staff_a.admin,
                                body="Procedure attached.")
        assert assessments.view(fresh).open_requests == 0
        answer_all(staff_a, fresh, {"1.2": "met"})
        assessments.submit(assessment=fresh, by=staff_a.admin)
    assessments.start_review(assessment_id=assessment.id, by=auditor)
    approved = assessments.approve(assessment_id=assessment.id, by=auditor, on=date(2024, 2, 29))
    assert approved.status == "approved" and approved.award_date == date(2024, 2, 29)
    assert approved.progress_report_due == date(2026, 2, 28) and approved.valid_until == date(2028, 2, 29)
    assert [d.kind for d in assessments.reminders(approved, on=date(2025, 11, 1))] == []
    reminders = assessments.reminders(approved, on=date(2026, 1, 15))
    assert [(d.kind, d.days_left) for d in reminders] == [("progress_report", 44)]
    with tenancy.acting_for(staff_a.institution_id):
        history = assessments.history(assessments.get(assessment.id))
    assert any(h["clause"] == "1.2" and h["record_type"] == "compliance_answers" for h in history)


def test_auditor_cannot_reach_answers_through_institution_services(setup, staff_a, auditor):
    _catalogue, assessment = setup
    with pytest.raises(ValidationFailed, match="administrator"):
        assessments.check_editable(assessment, auditor)


def test_other_institution_cannot_open_the_assessment(setup, staff_b):
    _catalogue, assessment = setup
    with tenancy.acting_for(staff_b.institution_id), pytest.raises(NotFound):
        assessments.get(assessment.id)


def test_compare_two_periods(app, staff_a):
    catalogue = load(THREE)
    earlier = new_assessment(staff_a, catalogue, start="2024-01-01", end="2024-12-31")
    later = new_assessment(staff_a, catalogue)
    answer_all(staff_a, earlier, {"1.1": "partly", "1.2": "met"})
    answer_all(staff_a, later, {"1.1": "met", "1.2": "met"})
    with tenancy.acting_for(staff_a.institution_id):
        rows = assessments.compare(earlier, later)
    assert [(r.key, r.before, r.after, r.changed) for r in rows] == [
        ("1.1", "partly", "met", True), ("1.2", "met", "met", False), ("2.1", None, None, False)]


# --- evidence files -------------------------------------------------------------------------

def _upload(staff, assessment, name, data):
    with tenancy.acting_for(staff.institution_id):
        return evidence.store_file(assessment=assessment, clause=_clause(assessment, "1.1"),
                                   filename=name, stream=io.BytesIO(data), by=staff.admin)


def test_a_pdf_is_stored_under_the_instance_folder(setup, staff_a, app):
    _catalogue, assessment = setup
    record = _upload(staff_a, assessment, "procédure.pdf", b"%PDF-1.4 test")
    path = evidence.file_path(record)
    assert path.read_bytes() == b"%PDF-1.4 test" and str(path).startswith(app.instance_path)
    assert record.original_name == "procédure.pdf" and record.stored_name in path.name


@pytest.mark.parametrize("name,data,message", [
    ("../../etc/passwd.pdf", b"%PDF-1.4", "may not contain a path"),
    ("..\\boot.pdf", b"%PDF-1.4", "may not contain a path"),
    (".htaccess", b"x", "may not contain a path"),
    ("tool.exe", b"MZ", "not accepted"),
    ("fake.pdf", b"MZ\x90\x00", "not a PDF file"),
    ("empty.txt", b"", "empty"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(setup, staff_a, app, name, data, message):
    _catalogue, assessment = setup
    with pytest.raises(ValidationFailed) as caught:
        _upload(staff_a, assessment, name, data)
    assert message in str(caught.value.errors["file"])
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile).execution_options(
        microfin_all_institutions=True)) == 0
    assert list(evidence.storage_dir(staff_a.institution_id).iterdir()) == []


def test_too_large_upload_is_refused(make_app, staff_a):
    app = make_app(MICROFIN_EVIDENCE_MAX_BYTES=1024)
    with app.app_context():
        catalogue = load(THREE)
        assessment = new_assessment(staff_a, catalogue)
        with pytest.raises(ValidationFailed, match="larger than"):
            _upload(staff_a, assessment, "big.pdf", b"%PDF-" + b"x" * 1024)


# --- automatic evidence ---------------------------------------------------------------------

def test_core_evidence_is_frozen_at_submission(app, staff_a):
    from core.services.compliance import catalogue as catalogues

    starter = catalogues.load_starter()
    assessment = new_assessment(staff_a, starter, start="2020-01-01", end="2030-12-31")
    with tenancy.acting_for(staff_a.institution_id):
        found = evidence.automatic_evidence(assessment)
    assert set(found) == {"1.1", "2.6", "4.1", "5.3", "5.4", "5.5"}  # 1.1, 2.6, 4.1: lending
    assert "admin: 1, coach: 1, officer: 1" in found["5.3"][0]["summary"]
    assert found["5.5"][0]["ok"] is True and "5 failures within 15 minutes" in found["5.5"][0]["summary"]
    assert found["5.4"][0]["summary"].startswith(("1 changes", "2 changes", "3 changes", "4 changes"))


def test_hook_register_compliance_evidence(make_app, staff_a, staff_b):
    """A plugin's provider computes from its own institution's data and reaches only it."""

    class MicrostartEvidence:
        @hookimpl
        def register_compliance_evidence(self):
            def count_answers(context):
                answers = db.session.scalar(select(func.count()).select_from(Answer))
                return Evidence(f"institution {context.institution_id}: {answers} answers", answers > 0)

            return [EvidenceProvider("1.1", "Answers so far", count_answers),
                    EvidenceProvider("9.9", "Unknown clause: ignored", count_answers)]

        @hookimpl
        def register_institutions(self):
            from plugins.microstart import MicroStart

            return [MicroStart()]

    others = ["credal", "hefboom", "brusoc"]
    app = make_app(MICROFIN_PLUGINS=others, MICROFIN_EXTRA_PLUGINS=[("microstart", MicrostartEvidence())])
    with app.app_context(), app.test_request_context():
        catalogue = load(THREE)
        own = new_assessment(staff_a, catalogue)
        other = new_assessment(staff_b, catalogue)
        answer_all(staff_a, own, {"1.1": "met"})
        answer_all(staff_b, other, {"1.1": "met", "1.2": "met"})
        with tenancy.acting_for(staff_a.institution_id):
            found = evidence.automatic_evidence(own)
        assert found == {"1.1": [{"title": "Answers so far", "ok": True,
                                  "summary": f"institution {staff_a.institution_id}: 1 answers"}]}
        with tenancy.acting_for(staff_b.institution_id):
            assert evidence.automatic_evidence(other) == {}  # microstart's provider is not Hefboom's
