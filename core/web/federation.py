"""The federation auditors' pages: every institution's compliance at a glance, one assessment in
detail, comments per clause, the review decisions, evidence files and exports.

Auditors see self-assessments of every institution (through the compliance services, which
cross tenants explicitly) and never any client data.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.models import ROLE_AUDITOR
from core.services.compliance import assessments, evidence
from core.services.errors import NotFound, ValidationFailed
from core.access import roles_required
from core.web.compliance_shared import export_response
from core.web.forms_compliance import CommentForm
from core.web.rendering import render

bp = Blueprint("federation", __name__, url_prefix="/federation")

ACTIONS = {"review": assessments.start_review, "changes": assessments.request_changes,
           "approve": assessments.approve}


def _report_or_404(assessment_id: int):
    try:
        return assessments.auditor_get(assessment_id)
    except NotFound:
        abort(404)


@bp.route("/")
@roles_required(ROLE_AUDITOR)
def dashboard():
    """All institutions' status, scores, open requests and due dates."""
    return render("federation/dashboard.html", overview=assessments.federation_overview())


@bp.route("/assessments/<int:assessment_id>")
@roles_required(ROLE_AUDITOR)
def assessment(assessment_id: int):
    return render("federation/assessment.html", report=_report_or_404(assessment_id),
                  comment_form=CommentForm(formdata=None))


@bp.route("/assessments/<int:assessment_id>/status", methods=["POST"])
@roles_required(ROLE_AUDITOR)
def decide(assessment_id: int):
    """Start the review, request changes, or approve."""
    report = _report_or_404(assessment_id)
    action = ACTIONS.get(request.form.get("action", ""))
    if action is None:
        abort(400)
    try:
        action(assessment_id=report.assessment.id, by=current_user)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
        return render("federation/assessment.html", report=_report_or_404(assessment_id),
                      comment_form=CommentForm(formdata=None), status=422)
    flash(_("The self-assessment is now %(status)s.",
            status=assessments.status_label(_report_or_404(assessment_id).assessment.status)), "success")
    return redirect(url_for("federation.assessment", assessment_id=assessment_id))


@bp.route("/assessments/<int:assessment_id>/clauses/<int:clause_id>/comments", methods=["POST"])
@roles_required(ROLE_AUDITOR)
def comment(assessment_id: int, clause_id: int):
    """An auditor's remark or request on one clause."""
    report = _report_or_404(assessment_id)
    if not any(row.clause.id == clause_id for row in report.rows):
        abort(404)
    form = CommentForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed({"body": _("Write a comment.")})
        assessments.add_comment(assessment_id=assessment_id, clause_id=clause_id, by=current_user,
                                body=form.body.data)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
    else:
        flash(_("Comment added."), "success")
    return redirect(url_for("federation.assessment", assessment_id=assessment_id, _anchor=f"clause-{clause_id}"))


@bp.route("/files/<int:file_id>")
@roles_required(ROLE_AUDITOR)
def download(file_id: int):
    """An evidence file of any institution (the download is recorded in its audit trail)."""
    try:
        record = assessments.auditor_file(file_id)
    except NotFound:
        abort(404)
    return send_file(evidence.file_path(record), mimetype=record.content_type, as_attachment=True,
                     download_name=record.original_name)


@bp.route("/assessments/<int:assessment_id>/history")
@roles_required(ROLE_AUDITOR)
def history(assessment_id: int):
    report = _report_or_404(assessment_id)
    return render("compliance/history.html", report=report,
                  entries=assessments.auditor_history(assessment_id),
                  back=url_for("federation.assessment", assessment_id=assessment_id))


@bp.route("/assessments/<int:assessment_id>/compare")
@roles_required(ROLE_AUDITOR)
def compare(assessment_id: int):
    """Two periods of the same institution side by side (``?with=<id>``)."""
    other = request.args.get("with", type=int)
    if request.args.get("with") and other is None:
        abort(404)
    try:
        later, earlier, others, rows = assessments.auditor_compare(assessment_id, other)
    except NotFound:
        abort(404)
    return render("compliance/compare.html", later=later, earlier=earlier, others=others, rows=rows,
                  back=url_for("federation.assessment", assessment_id=assessment_id))


@bp.route("/assessments/<int:assessment_id>/export.<any(pdf, csv):kind>")
@roles_required(ROLE_AUDITOR)
def export(assessment_id: int, kind: str):
    return export_response(_report_or_404(assessment_id), kind)
