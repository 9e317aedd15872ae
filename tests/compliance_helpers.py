"""Small catalogues and assessments for the compliance tests."""
from core import tenancy
from core.services.compliance import assessments
from core.services.compliance import catalogue as catalogues


def catalogue_yaml(clauses, code="hand", version="1"):
    """A catalogue with sections 1 and 2; ``clauses`` are (id, section, priority, applies_to)."""
    lines = [f"code: {code}", f'version: "{version}"', "title: {en: Hand, nl: Hand, fr: Main}",
             "sections:"]
    for key in ("1", "2"):
        lines += [f'  - id: "{key}"', f"    title: {{en: Section {key}, nl: Sectie {key}, fr: Section {key}}}"]
    lines.append("clauses:")
    for key, section, priority, applies_to in clauses:
        lines += [f'  - id: "{key}"', f'    section: "{section}"',
                  f"    priority: {'true' if priority else 'false'}", f"    applies_to: {applies_to}",
                  f"    text: {{en: Clause {key}, nl: Clausule {key}, fr: Clause {key}}}"]
    return "\n".join(lines) + "\n"


def load(clauses, **kwargs):
    return catalogues.import_catalogue(catalogue_yaml(clauses, **kwargs))


def new_assessment(staff, catalogue, larger=False, start="2025-01-01", end="2025-12-31"):
    with tenancy.acting_for(staff.institution_id):
        return assessments.create(by=staff.admin, catalogue_id=catalogue.id, period_start=start,
                                  period_end=end, larger_provider=larger)


def answer_all(staff, assessment, answers: dict):
    """Answer clauses {key: answer}; "not_applicable" gets a reason."""
    from core.extensions import db

    db.session.expire_all()  # requests ran in their own sessions
    with tenancy.acting_for(staff.institution_id):
        clauses = {c.key: c for c in assessment.catalogue.clauses}
        for key, value in answers.items():
            assessments.save_answer(assessment=assessment, clause=clauses[key], by=staff.admin,
                                    answer=value, reason="Not our activity" if value == "not_applicable" else "")


def submit(staff, assessment):
    """The institution submits the self-assessment (every clause must be answered)."""
    from core.extensions import db

    db.session.expire_all()
    with tenancy.acting_for(staff.institution_id):
        return assessments.submit(assessment=assessment, by=staff.admin)
