"""The institution's compliance pages: self-assessments, answers, evidence, submission, exports.

Only the institution's admin opens them; every id is looked up with tenant scoping, so another
institution's assessment, clause or file is a 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import tenancy
from core.models import ROLE_ADMIN, EvidenceFile
from core.services.compliance import assessments, catalogue, evidence
from core.services.errors import NotFound, ValidationFailed
from core.access import roles_required
from core.web.compliance_shared import export_response, language
from core.web.forms import attach_errors
from core.web.forms_compliance import AnswerForm, CommentForm, NewAssessmentForm, UploadForm
from core.web.rendering import is_partial, render

bp = Blueprint("compliance", __name__, url_prefix="/compliance")


@bp.app_context_processor
def _labels():
    from core.services.compliance.reports import answer_label

    return {"answer_label": answer_label, "status_label": assessments.status_label,
            "missing_text": assessments.missing_text}


def _assessment_or_404(assessment_id: int):
    try:
        return assessments.get(assessment_id)
    except NotFound:
        abort(404)


def _clause_or_404(assessment, clause_id: int):
    try:
        return assessments.clause_of(assessment, clause_id)
    except NotFound:
        abort(404)


def _new_form(**kwargs) -> NewAssessmentForm:
    form = NewAssessmentForm(**kwargs)
    form.catalogue_id.choices = [(str(c.id), f"{c.title(language())} ({c.version})")
                                 for c in catalogue.catalogues()]
    return form


@bp.route("/")
@roles_required(ROLE_ADMIN)
def index():
    """The institution's self-assessments and the form to start one."""
    return _index_page(_new_form())


def _index_page(form, status: int = 200):
    own = assessments.list_own()
    return render("compliance/index.html", assessments=own, form=form, status=status,
                  views={a.id: assessments.view(a) for a in own})


@bp.route("/assessments", methods=["POST"])
@roles_required(ROLE_ADMIN)
def create():
    form = _new_form()
    if form.validate_on_submit():
        try:
            assessment = assessments.create(
                by=current_user, catalogue_id=form.catalogue_id.data, period_start=form.period_start.data,
                period_end=form.period_end.data, larger_provider=form.larger_provider.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
        else:
            flash(_("Self-assessment started."), "success")
            return redirect(url_for("compliance.assessment", assessment_id=assessment.id))
    return _index_page(form, status=422)


def _clause_forms(report):
    """One answer form per clause, filled from the stored answers."""
    forms = {}
    for row in report.rows:
        answer = row.answer
        data = {}
        if answer:
            data = {"answer": answer.answer or "", "reason": answer.reason, "comment": answer.comment,
                    "evidence_text": answer.evidence_text, "links": "\n".join(answer.links)}
        forms[row.clause.id] = AnswerForm(formdata=None, prefix=f"c{row.clause.id}", data=data)
    return forms


def _page(assessment, *, status: int = 200, forms=None, upload_errors=None):
    live = evidence.automatic_evidence(assessment) if assessment.editable else None
    report = assessments.view(assessment, automatic=live)
    all_forms = _clause_forms(report)
    all_forms.update(forms or {})
    return render("compliance/assessment.html", report=report, forms=all_forms,
                  upload_errors=upload_errors or {}, comment_form=CommentForm(formdata=None),
                  upload_form=UploadForm(formdata=None), reminders=assessments.reminders(assessment),
                  status=status)


@bp.route("/assessments/<int:assessment_id>")
@roles_required(ROLE_ADMIN)
def assessment(assessment_id: int):
    return _page(_assessment_or_404(assessment_id))


@bp.route("/assessments/<int:assessment_id>/clauses/<int:clause_id>", methods=["POST"])
@roles_required(ROLE_ADMIN)
def answer(assessment_id: int, clause_id: int):
    """Save one clause's answer; an htmx request gets the clause's fragment back."""
    target = _assessment_or_404(assessment_id)
    clause = _clause_or_404(target, clause_id)
    form = AnswerForm(prefix=f"c{clause.id}")
    status = 422
    if form.validate_on_submit():
        try:
            assessments.save_answer(assessment=target, clause=clause, by=current_user,
                                    answer=form.answer.data, reason=form.reason.data,
                                    comment=form.comment.data, evidence_text=form.evidence_text.data,
                                    links=form.links.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
        else:
            status = 200
            form = None
    if form is None and not is_partial():
        flash(_("Answer to clause %(key)s saved.", key=clause.key), "success")
    return _clause_response(target, clause, {clause.id: form} if form else {}, status)


def _clause_response(target, clause, forms, status, upload_errors=None):
    if is_partial():
        report = assessments.view(target, automatic=evidence.automatic_evidence(target))
        all_forms = _clause_forms(report)
        all_forms.update(forms)
        return render("compliance/_clause.html", row=report.row(clause.key), report=report,
                      forms=all_forms, upload_errors=upload_errors or {},
                      comment_form=CommentForm(formdata=None), upload_form=UploadForm(formdata=None),
                      status=status)
    if status == 200:
        return redirect(url_for("compliance.assessment", assessment_id=target.id,
                                _anchor=f"clause-{clause.id}"))
    return _page(target, status=status, forms=forms, upload_errors=upload_errors)


@bp.route("/assessments/<int:assessment_id>/clauses/<int:clause_id>/files", methods=["POST"])
@roles_required(ROLE_ADMIN)
def upload(assessment_id: int, clause_id: int):
    """Attach an evidence file to a clause (size, type and name checked)."""
    target = _assessment_or_404(assessment_id)
    clause = _clause_or_404(target, clause_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _clause_response(target, clause, {}, 422, {clause.id: _("Choose a file to upload.")})
    uploaded = request.files.get("file")
    try:
        evidence.store_file(assessment=target, clause=clause, filename=uploaded.filename if uploaded else "",
                            stream=uploaded.stream if uploaded else None, by=current_user)
    except ValidationFailed as failed:
        message = " ".join(str(m) for m in failed.errors.values())
        return _clause_response(target, clause, {}, 422, {clause.id: message})
    flash(_("File added to clause %(key)s.", key=clause.key), "success")
    return _clause_response(target, clause, {}, 200)


@bp.route("/assessments/<int:assessment_id>/clauses/<int:clause_id>/comments", methods=["POST"])
@roles_required(ROLE_ADMIN)
def reply(assessment_id: int, clause_id: int):
    """The institution answers an auditor's remark on a clause."""
    target = _assessment_or_404(assessment_id)
    clause = _clause_or_404(target, clause_id)
    form = CommentForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed({"body": _("Write a comment.")})
        assessments.add_comment(assessment=target, clause_id=clause.id, by=current_user, body=form.body.data)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
        return redirect(url_for("compliance.assessment", assessment_id=target.id, _anchor=f"clause-{clause.id}"))
    flash(_("Your answer to the auditor was added."), "success")
    return redirect(url_for("compliance.assessment", assessment_id=target.id, _anchor=f"clause-{clause.id}"))


def _file_or_404(file_id: int) -> EvidenceFile:
    record = tenancy.get(EvidenceFile, file_id)
    if record is None:
        abort(404)
    return record


@bp.route("/files/<int:file_id>")
@roles_required(ROLE_ADMIN)
def download(file_id: int):
    """An evidence file of the institution, as an attachment."""
    record = _file_or_404(file_id)
    return send_file(evidence.file_path(record), mimetype=record.content_type, as_attachment=True,
                     download_name=record.original_name)


@bp.route("/files/<int:file_id>/delete", methods=["POST"])
@roles_required(ROLE_ADMIN)
def delete_file(file_id: int):
    record = _file_or_404(file_id)
    target = _assessment_or_404(record.assessment_id)
    try:
        evidence.delete_file(record=record, assessment=target, by=current_user)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
    else:
        flash(_("File removed."), "success")
    return redirect(url_for("compliance.assessment", assessment_id=target.id))


@bp.route("/assessments/<int:assessment_id>/submit", methods=["POST"])
@roles_required(ROLE_ADMIN)
def submit(assessment_id: int):
    """Send the self-assessment to the federation's auditors."""
    target = _assessment_or_404(assessment_id)
    try:
        assessments.submit(assessment=target, by=current_user)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
        return _page(target, status=422)
    flash(_("Self-assessment submitted to the federation."), "success")
    return redirect(url_for("compliance.assessment", assessment_id=target.id))


@bp.route("/assessments/<int:assessment_id>/history")
@roles_required(ROLE_ADMIN)
def history(assessment_id: int):
    target = _assessment_or_404(assessment_id)
    return render("compliance/history.html", report=assessments.view(target),
                  entries=assessments.history(target), back=url_for("compliance.assessment",
                                                                    assessment_id=target.id))


@bp.route("/assessments/<int:assessment_id>/compare")
@roles_required(ROLE_ADMIN)
def compare(assessment_id: int):
    """This period's answers next to another period's (``?with=<id>``)."""
    later = _assessment_or_404(assessment_id)
    others = [a for a in assessments.list_own() if a.id != later.id]
    earlier = tenancy.get(type(later), request.args.get("with", type=int))
    if request.args.get("with") and earlier is None:
        abort(404)
    rows = assessments.compare(earlier, later) if earlier else []
    return render("compliance/compare.html", later=later, earlier=earlier, others=others, rows=rows,
                  back=url_for("compliance.assessment", assessment_id=later.id))


@bp.route("/assessments/<int:assessment_id>/export.<any(pdf, csv):kind>")
@roles_required(ROLE_ADMIN)
def export(assessment_id: int, kind: str):
    """The self-assessment as PDF or CSV, in the interface language."""
    target = _assessment_or_404(assessment_id)
    return export_response(assessments.view(target), kind)
