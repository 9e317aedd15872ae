"""Bank statements: upload and preview, booking once, and the queue of lines for a person.

The upload page is ``/loans/statement`` (the first wave's address, kept); the queue is
``/loans/statements/queue``. What a booking does and why it never books twice is in
core.services.statements.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.access import roles_required
from core.services import statements
from core.services.errors import NotFound, ValidationFailed
from core.web import forms_loans as f
from core.web.forms import attach_errors
from core.web.rendering import render

bp = Blueprint("statements", __name__, url_prefix="/loans")
LENDERS = ("admin", "officer")


@bp.app_context_processor
def _labels():
    return dict(line_state_labels=f.LINE_STATE_LABELS)


@bp.route("/statement", methods=["GET", "POST"])
@roles_required(*LENDERS)
def upload():
    """Upload a statement (preview), then book it from the preview's button."""
    form = f.StatementForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        attach_errors(form, {"": _("The form expired: send it again.")})
        return _page(form, status=422)
    text, filename = _statement_text(form)
    if text is None:
        attach_errors(form, {"statement": _("Choose a CSV file (UTF-8).")})
        return _page(form, status=422)
    if request.form.get("book") == "yes":
        try:
            booked = statements.book(text, filename, user=current_user)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
            return _page(form, check=statements.preview(text), text=text, filename=filename, status=422)
        return _page(f.StatementForm(formdata=None), booked=booked)
    check = statements.preview(text)
    return _page(form, check=check, text=text, filename=filename,
                 status=422 if check.errors or check.known_file else 200)


@bp.route("/statements/queue")
@roles_required(*LENDERS)
def queue():
    """The lines no loan was found for, each to assign to a loan or dismiss with a reason."""
    return _queue()


@bp.route("/statements/lines/<int:line_id>/assign", methods=["POST"])
@roles_required(*LENDERS)
def assign(line_id: int):
    form = f.AssignLineForm(prefix=f"line{line_id}")
    return _resolve(line_id, form, lambda: statements.assign(line_id, form.loan.data, user=current_user),
                    _("The line was booked on the loan."))


@bp.route("/statements/lines/<int:line_id>/dismiss", methods=["POST"])
@roles_required(*LENDERS)
def dismiss(line_id: int):
    form = f.DismissLineForm(prefix=f"line{line_id}")
    return _resolve(line_id, form, lambda: statements.dismiss(line_id, form.reason.data, user=current_user),
                    _("The line was dismissed."))


def _resolve(line_id: int, form, act, done: str):
    if not _exists(line_id):
        abort(404)
    if not form.validate_on_submit():
        attach_errors(form, {"": _("The form expired: send it again.")})
        return _queue(line_id, form, status=422)
    try:
        act()
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return _queue(line_id, form, status=422)
    flash(done, "success")
    return redirect(url_for("statements.queue"), 303)


def _exists(line_id: int) -> bool:
    try:
        statements.line(line_id)
    except NotFound:
        return False
    return True


def _queue(failed_line: int | None = None, failed_form=None, status: int = 200):
    """The queue page; the form that failed is shown again with its error and what was typed."""
    lines = statements.queued()
    forms = {}
    for line in lines:
        prefix = f"line{line.id}"
        assign_form = f.AssignLineForm(formdata=None, prefix=prefix)
        dismiss_form = f.DismissLineForm(formdata=None, prefix=prefix)
        if line.id == failed_line:
            assign_form, dismiss_form = ((failed_form, dismiss_form) if isinstance(failed_form, f.AssignLineForm)
                                         else (assign_form, failed_form))
        forms[line.id] = (assign_form, dismiss_form)
    return render("loans/statement_queue.html", lines=lines, forms=forms, history=statements.resolved(),
                  failed_line=failed_line, failed_form=failed_form, status=status)


def _page(form, status: int = 200, **context):
    context.setdefault("check", None)
    context.setdefault("text", "")
    context.setdefault("filename", "")
    return render("loans/statement.html", form=form, queued=len(statements.queued()), status=status, **context)


def _statement_text(form) -> tuple[str | None, str]:
    """The statement's text (from the file, or from the preview's hidden field) and its name."""
    upload = form.statement.data
    try:
        if upload and getattr(upload, "filename", ""):
            return upload.read().decode("utf-8-sig"), upload.filename
        return request.form.get("text") or None, request.form.get("filename") or ""
    except UnicodeDecodeError:
        return None, ""
