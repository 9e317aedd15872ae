"""Self-assessments: answers, the review workflow, comments, history, comparison, due dates.

Workflow: draft → submitted → under review → changes requested → (submitted again) → approved.
The institution's admin edits answers (draft, changes requested) and submits; a federation
auditor starts the review, comments per clause, requests changes or approves. Every row is
``Audited``: who changed what and when is in the audit trail.

Auditors cross tenants only here, through ``all_institutions`` with a stated reason, and only
for compliance records, never for client data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlparse

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import or_, select

from core.clock import today
from core import tenancy
from core.extensions import db
from core.models import ROLE_ADMIN, ROLE_AUDITOR, AuditEntry, User
from core.models.compliance import (
    ANSWERS,
    APPROVED,
    CHANGES_REQUESTED,
    DRAFT,
    EDITABLE,
    NOT_APPLICABLE,
    SUBMITTED,
    UNDER_REVIEW,
    Answer,
    Assessment,
    Catalogue,
    Clause,
    ClauseComment,
    EvidenceFile,
)
from core.models.types import utcnow
from core.plugin_api import Event
from core.plugins import emit
from core.services import notifications
from core.services.compliance import scoring
from core.services.compliance.scoring import Score
from core.services.errors import NotFound, ValidationFailed
from core.tenancy import FEDERATION, all_institutions

AWARD_YEARS = 4
PROGRESS_REPORT_YEARS = 2
DEFAULT_REMINDER_DAYS = 90
RECORD_TYPES = ("compliance_assessments", "compliance_answers", "compliance_evidence_files",
                "compliance_comments")


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- reading --------------------------------------------------------------------------------

@dataclass
class ClauseRow:
    """One clause of an assessment with everything said about it."""

    clause: Clause
    answer: Answer | None
    files: list[EvidenceFile] = field(default_factory=list)
    comments: list[ClauseComment] = field(default_factory=list)
    automatic: list[dict] = field(default_factory=list)
    applicable: bool = True

    @property
    def open_request(self) -> bool:
        """The last word on this clause is an auditor's: the institution still has to answer."""
        return bool(self.comments) and self.comments[-1].from_federation


@dataclass
class AssessmentView:
    """An assessment read in full, ready for a page, a PDF or a CSV (no lazy loads needed)."""

    assessment: Assessment
    catalogue: Catalogue
    institution_name: dict
    rows: list[ClauseRow]
    score: Score

    @property
    def open_requests(self) -> int:
        return sum(row.open_request for row in self.rows)

    def row(self, clause_key: str) -> ClauseRow | None:
        return next((r for r in self.rows if r.clause.key == clause_key), None)


def get(assessment_id: int) -> Assessment:
    """The current institution's assessment, or ``NotFound`` (another institution's id too)."""
    assessment = tenancy.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound()
    return assessment


def list_own() -> list[Assessment]:
    """The current institution's assessments, newest period first."""
    return list(db.session.scalars(select(Assessment).order_by(Assessment.period_end.desc(),
                                                               Assessment.id.desc())))


def _by_clause(records) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for record in records:
        grouped.setdefault(record.clause_id, []).append(record)
    return grouped


def view(assessment: Assessment, automatic: dict | None = None) -> AssessmentView:
    """Read the assessment with its answers, files, comments and score (scoping as it stands)."""
    catalogue = assessment.catalogue
    answers = {a.clause_id: a for a in db.session.scalars(
        select(Answer).where(Answer.assessment_id == assessment.id))}
    files = _by_clause(db.session.scalars(select(EvidenceFile).where(
        EvidenceFile.assessment_id == assessment.id).order_by(EvidenceFile.id)))
    comments = _by_clause(db.session.scalars(select(ClauseComment).where(
        ClauseComment.assessment_id == assessment.id).order_by(ClauseComment.id)))
    automatic = assessment.automatic_evidence if automatic is None else automatic
    rows = []
    for clause in catalogue.clauses:
        answer = answers.get(clause.id)
        rows.append(ClauseRow(clause=clause, answer=answer, files=files.get(clause.id, []),
                              comments=comments.get(clause.id, []),
                              automatic=(automatic or {}).get(clause.key, []),
                              applicable=scoring.is_applicable(clause, answer and answer.answer,
                                                               assessment.larger_provider)))
    score = scoring.score(catalogue.clauses, {r.clause.key: r.answer and r.answer.answer for r in rows},
                          assessment.larger_provider)
    institution = assessment_institution(assessment)
    return AssessmentView(assessment, catalogue, institution, rows, score)


def assessment_institution(assessment: Assessment) -> dict:
    from core.models import Institution

    row = db.session.get(Institution, assessment.institution_id)
    return row.names if row else {}


def history(assessment: Assessment, limit: int = 200) -> list[dict]:
    """Who changed what in this assessment, newest first (names, not e-mail addresses)."""
    clauses = {c.id: c.key for c in assessment.catalogue.clauses}
    owners: dict[tuple[str, int], str | None] = {("compliance_assessments", assessment.id): None}
    for model, name in ((Answer, "compliance_answers"), (EvidenceFile, "compliance_evidence_files"),
                        (ClauseComment, "compliance_comments")):
        for record_id, clause_id in db.session.execute(
                select(model.id, model.clause_id).where(model.assessment_id == assessment.id)):
            owners[(name, record_id)] = clauses.get(clause_id)
    conditions = [(AuditEntry.record_type == name) & AuditEntry.record_id.in_(
        [rid for (kind, rid) in owners if kind == name]) for name in RECORD_TYPES
        if any(kind == name for kind, _ in owners)]
    entries = list(db.session.scalars(select(AuditEntry).where(or_(*conditions))
                                      .order_by(AuditEntry.id.desc()).limit(limit)))
    names = _user_names({e.user_id for e in entries if e.user_id})
    return [{"at": e.at, "who": names.get(e.user_id, "?") if e.user_id else e.actor,
             "action": e.action, "record_type": e.record_type,
             "clause": owners.get((e.record_type, e.record_id)), "fields": sorted(e.changes or {})}
            for e in entries]


def _user_names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    with all_institutions("names of the people who changed an assessment (federation staff too)", scope=FEDERATION):
        return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())


# --- creating and answering -----------------------------------------------------------------

def _parse_dates(start, end) -> tuple[date, date]:
    errors = {}
    parsed = []
    for name, value in (("period_start", start), ("period_end", end)):
        if isinstance(value, date):
            parsed.append(value)
            continue
        try:
            parsed.append(date.fromisoformat(value or ""))
        except ValueError:
            errors[name] = _l("Enter a date as YYYY-MM-DD.")
            parsed.append(None)
    if not errors and parsed[1] < parsed[0]:
        errors["period_end"] = _l("The period must end after it starts.")
    if errors:
        raise ValidationFailed(errors)
    return parsed[0], parsed[1]


def create(*, by: User, catalogue_id, period_start, period_end, larger_provider: bool) -> Assessment:
    """Start a draft self-assessment of the user's institution, pinned to a catalogue version."""
    _require_role(by, ROLE_ADMIN)
    catalogue = db.session.get(Catalogue, catalogue_id) if str(catalogue_id or "").isdigit() else None
    errors = {}
    if catalogue is None:
        errors["catalogue_id"] = _l("Choose a catalogue.")
    try:
        start, end = _parse_dates(period_start, period_end)
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    assessment = Assessment(catalogue_id=catalogue.id, period_start=start, period_end=end,
                            larger_provider=bool(larger_provider), status=DRAFT,
                            institution_id=by.institution_id, automatic_evidence={})
    db.session.add(assessment)
    db.session.commit()
    return assessment


def _require_role(user: User, role: str) -> None:
    if user.role != role:
        if role == ROLE_AUDITOR:
            message = _l("Only a federation auditor can do this.")
        else:
            message = _l("Only your institution's administrator can change the self-assessment.")
        raise ValidationFailed({"": message})


def check_editable(assessment: Assessment, by: User) -> None:
    """Refuse changes to answers and evidence by anyone but the institution's admin, or once
    the assessment is submitted (until changes are requested)."""
    _require_role(by, ROLE_ADMIN)
    if by.institution_id != assessment.institution_id:
        raise NotFound()
    if assessment.status not in EDITABLE:
        raise ValidationFailed({"": _l("This self-assessment is %(status)s: answers can no longer "
                                       "be changed.", status=status_label(assessment.status))})


def clause_of(assessment: Assessment, clause_id) -> Clause:
    """The clause with this id in the assessment's catalogue, or ``NotFound``."""
    clause = db.session.get(Clause, clause_id)
    if clause is None or clause.catalogue_id != assessment.catalogue_id:
        raise NotFound()
    return clause


def _check_links(raw: str) -> list[str]:
    links = [line.strip() for line in (raw or "").splitlines() if line.strip()]
    for link in links:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(link) > 500:
            raise ValidationFailed({"links": _l("Not a web address: %(link)s. Put one address "
                                                "(https://…) per line.", link=link[:80])})
    return links


def save_answer(*, assessment: Assessment, clause: Clause, by: User, answer: str | None,
                reason: str = "", comment: str = "", evidence_text: str = "",
                links: str = "") -> Answer:
    """Record the answer to one clause; "not applicable" needs a reason. One transaction."""
    check_editable(assessment, by)
    errors = {}
    answer = answer or None
    if answer is not None and answer not in ANSWERS:
        errors["answer"] = _l("Choose met, partly met, not met or not applicable.")
    reason = (reason or "").strip()
    if answer == NOT_APPLICABLE and not reason:
        errors["reason"] = _l("Say why this clause does not apply to your institution.")
    try:
        link_list = _check_links(links)
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    record = db.session.scalar(select(Answer).where(Answer.assessment_id == assessment.id,
                                                    Answer.clause_id == clause.id))
    if record is None:
        record = Answer(assessment_id=assessment.id, clause_id=clause.id,
                        institution_id=assessment.institution_id)
        db.session.add(record)
    record.answer = answer
    record.reason = reason if answer == NOT_APPLICABLE else ""
    record.comment = (comment or "").strip()
    record.evidence_text = (evidence_text or "").strip()
    record.links = link_list
    db.session.commit()
    return record


# --- workflow -------------------------------------------------------------------------------

def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


STATUS_LABELS = {
    DRAFT: _l("draft"), SUBMITTED: _l("submitted"), UNDER_REVIEW: _l("under review"),
    CHANGES_REQUESTED: _l("changes requested"), APPROVED: _l("approved"),
}


def _move(assessment: Assessment, allowed_from: tuple[str, ...], to: str) -> None:
    if assessment.status not in allowed_from:
        raise ValidationFailed({"": _l("A self-assessment that is %(status)s cannot become %(to)s.",
                                       status=status_label(assessment.status), to=status_label(to))})
    assessment.status = to


def submit(*, assessment: Assessment, by: User) -> Assessment:
    """The institution submits: every applicable clause answered; automatic evidence is frozen."""
    from core.services.compliance.evidence import automatic_evidence

    check_editable(assessment, by)
    current = view(assessment)
    unanswered = [r.clause.key for r in current.rows if r.applicable and (r.answer is None or not r.answer.answer)]
    if unanswered:
        raise ValidationFailed({"": _l("Answer every clause before submitting. Still open: %(keys)s.",
                                       keys=", ".join(unanswered))})
    assessment.automatic_evidence = automatic_evidence(assessment)
    _move(assessment, EDITABLE, SUBMITTED)
    assessment.submitted_at = utcnow()
    db.session.commit()
    emit(Event("compliance.submitted", assessment.institution_id, {"assessment_id": assessment.id}))
    return assessment


def _submitted(query):
    """Only what the institution has submitted at least once: a draft stays the institution's own."""
    return query.where(Assessment.status != DRAFT)


def _auditor_assessment(assessment_id: int) -> Assessment:
    assessment = db.session.scalar(_submitted(select(Assessment).where(Assessment.id == assessment_id)))
    if assessment is None:
        raise NotFound()
    return assessment


def auditor_get(assessment_id: int) -> AssessmentView:
    """An auditor reads any institution's submitted assessment (compliance records only); a
    draft is ``NotFound`` until the institution submits it."""
    with all_institutions("a federation auditor reads a compliance self-assessment", scope=FEDERATION):
        return view(_auditor_assessment(assessment_id))


def auditor_history(assessment_id: int) -> list[dict]:
    with all_institutions("a federation auditor reads the history of a self-assessment", scope=FEDERATION):
        return history(_auditor_assessment(assessment_id))


def _auditor_change(assessment_id: int, by: User, change) -> Assessment:
    _require_role(by, ROLE_AUDITOR)
    with all_institutions("a federation auditor reviews a compliance self-assessment", scope=FEDERATION):
        assessment = db.session.scalar(select(Assessment).where(Assessment.id == assessment_id))
        if assessment is None:
            raise NotFound()
        try:
            change(assessment)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return assessment


def start_review(*, assessment_id: int, by: User) -> Assessment:
    """An auditor takes a submitted self-assessment into review."""
    return _auditor_change(assessment_id, by, lambda a: _move(a, (SUBMITTED,), UNDER_REVIEW))


def request_changes(*, assessment_id: int, by: User) -> Assessment:
    """An auditor sends the self-assessment back to the institution (after commenting)."""
    def change(assessment: Assessment) -> None:
        _move(assessment, (UNDER_REVIEW,), CHANGES_REQUESTED)
        notifications.assessment_reviewed(assessment, "returned")

    return _auditor_change(assessment_id, by, change)


def approve(*, assessment_id: int, by: User, on: date | None = None) -> Assessment:
    """An auditor approves: only when the award test passes. Award valid 4 years, progress
    report due after 2."""

    def change(assessment: Assessment) -> None:
        result = view(assessment).score
        if not result.award:
            raise ValidationFailed({"": _l("The award test is not passed: %(missing)s",
                                           missing=missing_text(result))})
        _move(assessment, (UNDER_REVIEW,), APPROVED)
        assessment.award_date = on or today()
        assessment.valid_until = add_years(assessment.award_date, AWARD_YEARS)
        assessment.progress_report_due = add_years(assessment.award_date, PROGRESS_REPORT_YEARS)
        notifications.assessment_reviewed(assessment, "approved")

    assessment = _auditor_change(assessment_id, by, change)
    emit(Event("compliance.approved", assessment.institution_id, {"assessment_id": assessment.id}))
    return assessment


def missing_text(result: Score) -> str:
    """What is missing for the award, in words."""
    parts = []
    if result.missing_priority:
        parts.append(str(_l("priority clauses not met: %(keys)s", keys=", ".join(result.missing_priority))))
    if result.more_needed:
        parts.append(str(lazy_ngettext("%(num)d more clause must be met to reach 80%%",
                                     "%(num)d more clauses must be met to reach 80%%", result.more_needed)))
    if not result.overall.applicable:
        parts.append(str(_l("no applicable clause")))
    return "; ".join(parts)


def add_comment(*, assessment: Assessment | None = None, assessment_id: int | None = None,
                clause_id, by: User, body: str) -> ClauseComment:
    """A remark on a clause: an auditor's request (submitted or under review), or the
    institution admin's answer (any time before approval)."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed({"body": _l("Write a comment.")})
    if len(body) > 5000:
        raise ValidationFailed({"body": _l("Keep the comment under 5,000 characters.")})
    if by.role == ROLE_AUDITOR:
        def change(target: Assessment) -> None:
            if target.status not in (SUBMITTED, UNDER_REVIEW):
                raise ValidationFailed({"body": _l("Comment while the self-assessment is submitted or "
                                                   "under review.")})
            clause = clause_of(target, clause_id)
            db.session.add(ClauseComment(assessment_id=target.id, clause_id=clause.id, author_id=by.id,
                                         author_name=by.name, from_federation=True, body=body,
                                         institution_id=target.institution_id))

        _auditor_change(assessment_id, by, change)
        return None
    _require_role(by, ROLE_ADMIN)
    if assessment.status == APPROVED:
        raise ValidationFailed({"body": _l("This self-assessment is approved: it takes no more comments.")})
    clause = clause_of(assessment, clause_id)
    comment = ClauseComment(assessment_id=assessment.id, clause_id=clause.id, author_id=by.id,
                            author_name=by.name, from_federation=False, body=body,
                            institution_id=assessment.institution_id)
    db.session.add(comment)
    db.session.commit()
    return comment


# --- comparing and due dates ----------------------------------------------------------------

@dataclass
class Difference:
    key: str
    clause: Clause
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def compare(earlier: Assessment, later: Assessment) -> list[Difference]:
    """Clause by clause (matched on the clause id), the answers of two periods."""
    def answers(assessment):
        rows = db.session.scalars(select(Answer).where(Answer.assessment_id == assessment.id))
        return {row.clause.key: row.answer for row in rows}

    before, after = answers(earlier), answers(later)
    clauses = {c.key: c for c in earlier.catalogue.clauses}
    clauses.update({c.key: c for c in later.catalogue.clauses})
    order = [c.key for c in later.catalogue.clauses] + [k for k in clauses if k not in
                                                         {c.key for c in later.catalogue.clauses}]
    return [Difference(key, clauses[key], before.get(key), after.get(key)) for key in order]


@dataclass
class Due:
    kind: str  # "progress_report" or "renewal"
    on: date
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def label(self) -> str:
        return str(_l("Progress report") if self.kind == "progress_report" else _l("Renewal of the award"))


def due_dates(assessment: Assessment, on: date | None = None) -> list[Due]:
    """The approved assessment's progress report and renewal dates."""
    on = on or today()
    if assessment.status != APPROVED:
        return []
    return [Due(kind, day, (day - on).days) for kind, day in
            (("progress_report", assessment.progress_report_due), ("renewal", assessment.valid_until)) if day]


def reminders(assessment: Assessment, on: date | None = None) -> list[Due]:
    """Due dates within the reminder window (``MICROFIN_COMPLIANCE_REMINDER_DAYS``), or passed."""
    window = current_app.config.get("MICROFIN_COMPLIANCE_REMINDER_DAYS", DEFAULT_REMINDER_DAYS)
    return [due for due in due_dates(assessment, on) if due.days_left <= window]


# --- the federation's overview --------------------------------------------------------------

@dataclass
class InstitutionStatus:
    institution: object
    assessment: Assessment | None
    view: AssessmentView | None
    reminders: list[Due]
    awarded: Assessment | None = None


def federation_overview(on: date | None = None) -> list[InstitutionStatus]:
    """Each enabled institution's latest self-assessment, score, open requests and due dates."""
    from core.services.institutions import enabled_institutions

    result = []
    with all_institutions("the federation dashboard lists every institution's compliance status", scope=FEDERATION):
        for institution in enabled_institutions():
            own = list(db.session.scalars(_submitted(
                select(Assessment).where(Assessment.institution_id == institution.id))
                .order_by(Assessment.period_end.desc(), Assessment.id.desc())))
            latest = own[0] if own else None
            awarded = next((a for a in own if a.status == APPROVED), None)
            result.append(InstitutionStatus(
                institution=institution, assessment=latest, view=view(latest) if latest else None,
                reminders=reminders(awarded, on) if awarded else [], awarded=awarded))
    return result


def auditor_file(file_id: int) -> EvidenceFile:
    """An evidence file for an auditor; the download is written to the institution's audit trail."""
    from core.services import audit

    with all_institutions("a federation auditor opens an evidence file", scope=FEDERATION):
        record = db.session.scalar(select(EvidenceFile).where(EvidenceFile.id == file_id))
        if record is None:
            raise NotFound()
        _auditor_assessment(record.assessment_id)  # a draft's evidence is not the auditor's yet
        audit.record("download", record, {"assessment_id": record.assessment_id})
        db.session.commit()
        db.session.refresh(record)
        return record


def auditor_compare(assessment_id: int, other_id: int | None):
    """For an auditor: (later, earlier or None, the institution's other assessments, differences).

    Only assessments of the same institution are compared; another id is ``NotFound``.
    """
    with all_institutions("a federation auditor compares two periods of one institution", scope=FEDERATION):
        later = _auditor_assessment(assessment_id)
        others = list(db.session.scalars(_submitted(
            select(Assessment).where(Assessment.institution_id == later.institution_id,
                                     Assessment.id != later.id)).order_by(Assessment.period_end.desc())))
        earlier = next((a for a in others if a.id == other_id), None)
        if other_id is not None and earlier is None:
            raise NotFound()
        return later, earlier, others, compare(earlier, later) if earlier else []
