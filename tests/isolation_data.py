"""Data for the tenant-isolation walker (core.testing.isolation).

When you add a route with a new URL parameter, add a provider here that returns the value of a
record belonging to the given institution's ``staff``; add a marker for text only that
institution's pages may show. The walker in tests/test_isolation.py does the rest.
"""
from core.testing.isolation import marker, provides


@provides("user_id")
def a_user(staff):
    return staff.coach.id


@provides("token")
def an_invitation_token(staff):
    # Invitation links are public by design (the token is the credential); a guessed one is 404.
    return "guessed-invitation-token"


@marker
def staff_identity(staff):
    return [staff.coach.email, staff.admin.email, staff.officer.email]


# --- compliance ---------------------------------------------------------------------------
# Compliance records are deliberately absent from the markers: federation auditors may read
# every institution's self-assessment (never client data); tests/test_compliance_web.py checks
# that institutions never see each other's.

def _compliance_records(staff):
    """One self-assessment of ``staff``'s institution with an answer and an evidence file
    (created once, found again on later calls)."""
    import io

    from sqlalchemy import select

    from core import tenancy
    from core.extensions import db
    from core.models import Assessment, EvidenceFile
    from core.services.compliance import assessments, catalogue, evidence

    starter = catalogue.find("eu-code-summary", "2021-wip-1") or catalogue.load_starter()
    with tenancy.acting_for(staff.institution_id):
        assessment = db.session.scalar(select(Assessment).order_by(Assessment.id))
        if assessment is None:
            assessment = assessments.create(by=staff.admin, catalogue_id=starter.id, larger_provider=False,
                                            period_start="2025-01-01", period_end="2025-12-31")
            clause = starter.clauses[0]
            assessments.save_answer(assessment=assessment, clause=clause, by=staff.admin, answer="met")
            evidence.store_file(assessment=assessment, clause=clause, filename="policy.txt",
                                stream=io.BytesIO(b"our policy"), by=staff.admin)
        record = db.session.scalar(select(EvidenceFile).order_by(EvidenceFile.id))
        return assessment, starter.clauses[0], record


@provides("assessment_id")
def an_assessment(staff):
    return _compliance_records(staff)[0].id


@provides("clause_id")
def a_clause(staff):
    return _compliance_records(staff)[1].id


@provides("file_id")
def an_evidence_file(staff):
    return _compliance_records(staff)[2].id


@provides("kind")
def an_export_kind(staff):
    return "csv"  # text, which the walker reads; the PDF is covered in test_compliance_web.py
