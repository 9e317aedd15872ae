"""Lending pages: a client's loans, the application, the approval queue, the loan page (schedule,
ledger, allocation, arrears) with its actions, the offer (print view and PDF),
late loans and portfolio quality (bank statements: core.web.statements)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from core import clock
from core.models import INSTITUTION_ROLES
from core.services import loans as service
from core.services import loan_documents, positions, prepayment, repayments
from core.services.clients import get_client
from core.services.errors import NotFound, ValidationFailed
from core.services.payment_reference import reference_for_loan
from core.services.submissions import AlreadySubmitted, book_once
from core.web import forms_loans as f
from core.access import roles_required
from core.web.clients import attach_errors
from core.labels import TranslatedLabels
from core.web.money_fields import field_errors_only
from core.web.rendering import render

bp = Blueprint("loans", __name__, url_prefix="/loans")
STAFF = INSTITUTION_ROLES
LENDERS = ("admin", "officer")
LATE_PER_PAGE = 100  # the follow-up list in pages: at 10,000 loans a year back, a thousand are late


@bp.app_context_processor
def _labels():
    return dict(loan_status_labels=TranslatedLabels(f.STATUS_LABELS),
                purpose_labels=TranslatedLabels(f.PURPOSE_LABELS),
                ledger_labels=TranslatedLabels(f.LEDGER_LABELS), bucket_labels=TranslatedLabels(f.BUCKET_LABELS),
                structured_reference=lambda loan: reference_for_loan(loan.id) if loan.payment_reference else "",
                early_repayment_right=prepayment.early_repayment_right, ledger_note=_ledger_note,
                indemnity_terms=prepayment.indemnity_terms)


def _ledger_note(entry) -> str:
    """What the ledger shows in its note column: an early repayment named in the reader's language."""
    if entry.source == "payoff":
        return str(f.EARLY_REPAYMENT_LABELS["payoff"])
    if entry.source == "prepayment" and entry.note in f.EARLY_REPAYMENT_LABELS:
        return str(f.EARLY_REPAYMENT_LABELS[entry.note])
    return entry.note or entry.reference or ""


def _loan_or_404(loan_id: int):
    try:
        return service.get_loan(loan_id)
    except NotFound:
        abort(404)


def _client_or_404(client_id: int):
    try:
        return get_client(client_id)
    except NotFound:
        abort(404)


def _product_name(code: str) -> str:
    product = service.product(code)
    return product.name(str(get_locale() or "en")) if product else code


# --- a client's loans and the application ---------------------------------------------------

@bp.route("/client/<int:client_id>")
@roles_required(*STAFF)
def client_loans(client_id: int):
    client = _client_or_404(client_id)
    return render("loans/client.html", client=client, loans=service.loans_of(client.id),
                  product_name=_product_name)


def _application_form(**kwargs) -> f.ApplicationForm:
    form = f.ApplicationForm(**kwargs)
    language = str(get_locale() or "en")
    form.product_code.choices = [SelectChoice("", "—")] + [SelectChoice(p.code, p.name(language))
                                                            for p in service.products()]
    return form


@bp.route("/client/<int:client_id>/new", methods=["GET", "POST"])
@roles_required(*LENDERS)
def new(client_id: int):
    client = _client_or_404(client_id)
    form = _application_form()
    if request.method == "GET":
        return render("loans/form.html", form=form, client=client, products=service.products())
    data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    if not form.validate_on_submit():
        if field_errors_only(form):
            attach_errors(form, service.check_application(client, data)[1])
        else:
            attach_errors(form, {"": _("The form expired: send it again.")})
        return render("loans/form.html", form=form, client=client, products=service.products(), status=422)
    try:
        loan = service.draft_application(client.id, data, user=current_user)
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return render("loans/form.html", form=form, client=client, products=service.products(), status=422)
    return redirect(url_for("loans.show", loan_id=loan.id), 303)


@bp.route("/<int:loan_id>/edit", methods=["GET", "POST"])
@roles_required(*LENDERS)
def edit(loan_id: int):
    """Change a draft application: the same form as a new one, filled in, with the loan's version."""
    loan = _loan_or_404(loan_id)
    if loan.status != "draft" and request.method == "GET":
        return redirect(url_for("loans.show", loan_id=loan.id), 303)
    form = _application_form(obj=loan) if request.method == "GET" else _application_form()
    context = dict(form=form, client=loan.client, products=service.products(), loan=loan,
                   version=request.form.get("version", loan.version))
    if request.method == "GET":
        return render("loans/form.html", **context)
    data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    if not form.validate_on_submit():
        if field_errors_only(form):
            attach_errors(form, service.check_application(loan.client, data)[1])
        else:
            attach_errors(form, {"": _("The form expired: send it again.")})
        return render("loans/form.html", status=422, **context)
    try:
        service.update_draft(loan.id, data, user=current_user, version=request.form.get("version"))
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return render("loans/form.html", status=422, **context)
    except service.Conflict:
        attach_errors(form, {"": _("Someone else changed this application in the meantime: reload it.")})
        return render("loans/form.html", status=409, **context)
    return redirect(url_for("loans.show", loan_id=loan.id), 303)


@bp.route("/<int:loan_id>/delete", methods=["POST"])
@roles_required(*LENDERS)
def delete(loan_id: int):
    """Delete a draft application, once the officer ticked the confirmation."""
    loan = _loan_or_404(loan_id)
    client_id = loan.client_id
    response = _act(loan_id, "delete_draft", f.DeleteDraftForm(), lambda loan, form: service.delete_draft(
        loan.id, user=current_user, version=form.version.data))
    if response.status_code == 303:
        return redirect(url_for("loans.client_loans", client_id=client_id), 303)
    return response


@bp.route("/queue")
@roles_required(*LENDERS)
def queue():
    from core.services.sorting import parse_sort
    from core.web.lists import SortLinks

    sort = parse_sort(request.args.get("sort"), service.QUEUE_SORTS, service.DEFAULT_QUEUE_SORT)
    return render("loans/queue.html", loans=service.approval_queue(sort), product_name=_product_name,
                  sort=sort, sort_links=SortLinks(sort, "loans.queue"))


# --- the loan page and its actions --------------------------------------------------------------

def _forms(loan, fresh: bool = False) -> dict:
    """The action forms of the loan page; ``fresh``: empty, with new one-time tokens."""
    bound = {"formdata": None} if fresh else {}
    forms = dict(decision=f.DecisionForm(**bound), disburse=f.DisburseForm(**bound), payment=f.PaymentForm(**bound),
                 reversal=f.ReversalForm(**bound), write_off=f.WriteOffForm(**bound), recovery=f.PaymentForm(**bound),
                 reschedule=f.RescheduleForm(**bound), submit=f.VersionForm(**bound),
                 delete_draft=f.DeleteDraftForm(**bound),
                 payoff=f.PayoffForm(**bound), prepayment=f.PrepaymentForm(**bound))
    for form in forms.values():
        if "version" in form and not form.version.data:
            form.version.data = loan.version
        if isinstance(form, f.OnceForm):
            form.issue_token()
    return forms


def _show(loan, status: int = 200, forms: dict | None = None, action_error: str | None = None,
          notice: str | None = None, fragment: str | None = None, quote_on: date | None = None,
          quote: dict | None = None):
    on = _as_of()
    current = positions.loan_position(loan, on) if loan.disbursed_on else None
    old_versions = sorted({l.version for l in loan.schedule_lines if l.version != loan.schedule_version})
    forms = {**_forms(loan, fresh=notice is not None), **(forms or {})}
    if quote_on is None:
        quote_on = forms["payoff"].paid_on.data or forms["prepayment"].paid_on.data or clock.today()
    for name in ("payoff", "prepayment"):
        if forms[name].paid_on.data is None and not forms[name].paid_on.raw_data and quote_on:
            forms[name].paid_on.data = quote_on
    return render("loans/show.html", fragment=fragment, status=status, loan=loan, position=current, on=on,
                  forms=forms, action_error=action_error, **(quote or _quote(loan, quote_on)),
                  notice=notice,
                  product_name=_product_name, old_versions=old_versions,
                  recovered=repayments.recovered(loan), may_decide=loan.drafted_by_id != current_user.id)


def _quote(loan, on: date | None) -> dict:
    """The payoff quote on ``on`` for the panel, or the reason there is none (a bad date)."""
    if loan.status != "active" or current_user.role not in LENDERS:
        return dict(quote=None, quote_error=None, quote_on=on)
    if not on:
        return dict(quote=None, quote_error=_("Enter the date of the payment."), quote_on=None)
    try:
        return dict(quote=prepayment.payoff_quote(loan, on), quote_error=None, quote_on=on)
    except ValidationFailed as failed:
        return dict(quote=None, quote_error=next(iter(failed.errors.values())), quote_on=on)


def _as_of() -> date:
    try:
        return date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        return clock.today()


@bp.route("/<int:loan_id>")
@roles_required(*STAFF)
def show(loan_id: int):
    return _show(_loan_or_404(loan_id))


ALREADY_BOOKED = {
    "payment": _l("This form was already sent: the payment was booked once, not twice. Here is the loan as it stands."),
    "recovery": _l("This form was already sent: the recovery was booked once, not twice. Here is the loan as it stands."),
    "disbursement": _l("This form was already sent: the disbursement was recorded once. Here is the loan as it stands."),
    "reversal": _l("This form was already sent: the payment was reversed once. Here is the loan as it stands."),
    "write_off": _l("This form was already sent: the loan was written off once. Here is the loan as it stands."),
    "prepayment": _l("This form was already sent: the prepayment was booked once, not twice. Here is the loan as it stands."),
    "payoff": _l("This form was already sent: the loan was paid off once. Here is the loan as it stands."),
}


def _act(loan_id: int, form_name: str, form, action, once: str | None = None):
    """Run ``action(loan, form)``; on a refusal, show the loan page again with the message (422).

    With ``once`` (a purpose), the form's one-time token is used in the booking's transaction: a
    second submit of the same form books nothing and shows the loan with a notice saying so.
    """
    loan = _loan_or_404(loan_id)
    if not form.validate_on_submit():
        if not field_errors_only(form):
            attach_errors(form, {"": _("The form expired: send it again.")})
        return _show(loan, 422, {form_name: form})
    try:
        if once:
            book_once(form.submission.data, purpose=once, loan=loan, user=current_user,
                      action=lambda: action(loan, form))
        else:
            action(loan, form)
    except AlreadySubmitted:
        return _show(service.get_loan(loan_id), 200, notice=ALREADY_BOOKED[once])
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return _show(service.get_loan(loan_id), 422, {form_name: form})
    except service.Conflict:
        form.form_errors.append(_("Someone else acted on this loan in the meantime: here is its current state."))
        return _show(service.get_loan(loan_id), 409, {form_name: form})
    return redirect(url_for("loans.show", loan_id=loan_id), 303)


@bp.route("/<int:loan_id>/submit", methods=["POST"])
@roles_required(*LENDERS)
def submit(loan_id: int):
    return _act(loan_id, "submit", f.VersionForm(), lambda loan, form: service.submit(
        loan.id, user=current_user, version=form.version.data))


@bp.route("/<int:loan_id>/decide", methods=["POST"])
@roles_required(*LENDERS)
def decide(loan_id: int):
    approve = request.form.get("decision") == "approve"
    return _act(loan_id, "decision", f.DecisionForm(), lambda loan, form: service.decide(
        loan.id, user=current_user, approve=approve, version=form.version.data, note=form.note.data or ""))


@bp.route("/<int:loan_id>/disburse", methods=["POST"])
@roles_required(*LENDERS)
def disburse(loan_id: int):
    return _act(loan_id, "disburse", f.DisburseForm(), lambda loan, form: service.disburse(
        loan.id, on=form.disbursed_on.data, user=current_user, version=form.version.data), once="disbursement")


@bp.route("/<int:loan_id>/payments", methods=["POST"])
@roles_required(*LENDERS)
def pay(loan_id: int):
    return _act(loan_id, "payment", f.PaymentForm(), lambda loan, form: repayments.record_payment(
        loan.id, paid_on=form.paid_on.data, amount=form.amount.data, user=current_user), once="payment")


@bp.route("/<int:loan_id>/ledger/<int:entry_id>/reverse", methods=["POST"])
@roles_required(*LENDERS)
def reverse(loan_id: int, entry_id: int):
    def act(loan, form):
        if not any(e.id == entry_id for e in loan.ledger):
            raise ValidationFailed({"": _("This entry is not in this loan's ledger: nothing was reversed.")})
        repayments.reverse(loan.id, entry_id, on=clock.today(), user=current_user, note=form.note.data.strip())
    return _act(loan_id, "reversal", f.ReversalForm(), act, once="reversal")


@bp.route("/<int:loan_id>/write-off", methods=["POST"])
@roles_required("admin")
def write_off(loan_id: int):
    return _act(loan_id, "write_off", f.WriteOffForm(), lambda loan, form: repayments.write_off(
        loan.id, on=form.written_off_on.data or clock.today(), user=current_user, version=form.version.data,
        note=form.reason.data.strip()), once="write_off")


@bp.route("/<int:loan_id>/recovery", methods=["POST"])
@roles_required("admin")
def recovery(loan_id: int):
    return _act(loan_id, "recovery", f.PaymentForm(), lambda loan, form: repayments.record_recovery(
        loan.id, on=form.paid_on.data, amount=form.amount.data, user=current_user), once="recovery")


@bp.route("/<int:loan_id>/reschedule", methods=["POST"])
@roles_required("admin")
def reschedule(loan_id: int):
    def act(loan, form):
        try:
            term = int(form.term_months.data or "")
        except ValueError:
            raise ValidationFailed({"term_months": _("Enter a whole number of months.")}) from None
        repayments.reschedule_loan(loan.id, on=form.rescheduled_on.data, term_months=term, user=current_user,
                                   version=form.version.data)
    return _act(loan_id, "reschedule", f.RescheduleForm(), act)


@bp.route("/<int:loan_id>/payoff-quote")
@roles_required(*LENDERS)
def payoff_quote(loan_id: int):
    """The payoff quote at the date asked (``?on=``); htmx swaps the quote alone."""
    loan = _loan_or_404(loan_id)
    try:
        on = date.fromisoformat(request.args.get("quote_on") or request.args.get("paid_on") or "")
    except ValueError:
        on = None
    quote = _quote(loan, on)
    return _show(loan, 422 if quote["quote_error"] else 200, fragment="loans/_payoff_quote.html",
                 quote_on=on or "", quote=quote)


@bp.route("/<int:loan_id>/payoff", methods=["POST"])
@roles_required(*LENDERS)
def pay_off(loan_id: int):
    return _act(loan_id, "payoff", f.PayoffForm(), lambda loan, form: prepayment.pay_off(
        loan.id, on=form.paid_on.data, user=current_user), once="payoff")


@bp.route("/<int:loan_id>/prepay", methods=["POST"])
@roles_required(*LENDERS)
def prepay(loan_id: int):
    return _act(loan_id, "prepayment", f.PrepaymentForm(), lambda loan, form: prepayment.prepay(
        loan.id, on=form.paid_on.data, amount=form.amount.data, option=form.option.data or None,
        user=current_user), once="prepayment")


@bp.route("/<int:loan_id>/account-statement")
@roles_required(*STAFF)
def account_statement(loan_id: int):
    """The borrower's statement of the loan in the client's language, laid out for printing: where
    the loan stands today, its schedule and ledger, the payoff amount today and the right to repay
    early with its indemnity."""
    loan = _loan_or_404(loan_id)
    if not loan.disbursed_on:
        abort(404)
    language = _client_language(loan)
    today = clock.today()
    with force_locale(language):
        quote = prepayment.statement_quote(loan, today)
        return render("loans/account_statement.html", loan=loan, language=language, today=today,
                      position=positions.loan_position(loan, today), quote=quote, product_name=_product_name)


# --- the offer: page, print view, PDF ------------------------------------------------------------

def _offer(loan_id: int):
    loan = _loan_or_404(loan_id)
    if loan.status in ("draft", "rejected"):
        abort(404)
    return loan, service.offer(loan)


@bp.route("/<int:loan_id>/offer")
@roles_required(*STAFF)
def offer(loan_id: int):
    loan, offer = _offer(loan_id)
    return render("loans/offer.html", loan=loan, offer=offer, product_name=_product_name, printable=False,
                  lender=loan_documents.lender_of(loan, str(get_locale() or "en")))


def _client_language(loan) -> str:
    language = loan.client.preferred_language
    return language if language in ("nl", "fr", "en") else "en"


@bp.route("/<int:loan_id>/offer/print")
@roles_required(*STAFF)
def offer_print(loan_id: int):
    """The offer in the client's language, laid out for printing."""
    loan, offer = _offer(loan_id)
    with force_locale(_client_language(loan)):
        return render("loans/offer_print.html", loan=loan, offer=offer, product_name=_product_name,
                      language=_client_language(loan),
                      lender=loan_documents.lender_of(loan, _client_language(loan)))


@bp.route("/<int:loan_id>/offer/pdf")
@roles_required(*STAFF)
def offer_pdf(loan_id: int):
    loan, offer = _offer(loan_id)
    language = _client_language(loan)
    with force_locale(language):
        body = loan_documents.offer_pdf(offer, _product_name(loan.product_code), language,
                                        loan_documents.lender_of(loan, language))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="offer-{loan.id}.pdf"'})


# --- follow-up: late loans, portfolio quality, bank statements -----------------------------------

@bp.route("/late")
@roles_required(*STAFF)
def late():
    from core.services.sorting import parse_sort
    from core.web.lists import SortLinks

    on = _as_of()
    page = max(1, request.args.get("page", 1, type=int))
    sort = parse_sort(request.args.get("sort"), positions.LATE_SORTS, positions.DEFAULT_LATE_SORT)
    found, total = repayments.late_page(on, (page - 1) * LATE_PER_PAGE, LATE_PER_PAGE, sort)
    return render("loans/late.html", on=on, positions=found, total=total, page=page, per_page=LATE_PER_PAGE,
                  pages=max(1, -(-total // LATE_PER_PAGE)), sort=sort,
                  sort_links=SortLinks(sort, "loans.late"),
                  page_args={"on": on.isoformat(), **({"sort": sort.param} if sort.param != positions.DEFAULT_LATE_SORT else {})})


@bp.route("/quality")
@roles_required("admin", "officer")
def quality():
    on = _as_of()
    return render("loans/quality.html", on=on, quality=repayments.quality(on))


# --- portfolio import (admin): upload, then progress polled by htmx -----------------------------

@bp.route("/import", methods=["GET", "POST"])
@roles_required("admin")
def import_portfolio():
    from flask import current_app

    from core.services import portfolio_writer

    from core.services.portfolio_import import COLUMN_GUIDE

    form = f.ImportForm()
    if request.method == "GET":
        return render("loans/import.html", form=form, columns=COLUMN_GUIDE)
    upload = form.portfolio.data if form.validate_on_submit() else None
    try:
        content = upload.read().decode("utf-8-sig") if upload and upload.filename else None
    except UnicodeDecodeError:
        content = None
    if not content:
        attach_errors(form, {"portfolio": _("Choose a CSV file (UTF-8).")})
        return render("loans/import.html", form=form, columns=COLUMN_GUIDE, status=422)
    run = portfolio_writer.start_run(upload.filename, content, user=current_user)
    portfolio_writer.launch(current_app._get_current_object(), run.id, run.institution_id)
    return redirect(url_for("loans.import_run", run_id=run.id), 303)


@bp.route("/import/example.csv")
@roles_required("admin")
def import_example():
    """A small valid file for this institution's products, to start from."""
    from core.services import portfolio_writer

    return Response(portfolio_writer.example_csv(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="portfolio-example.csv"'})


@bp.route("/import/<int:run_id>")
@roles_required("admin")
def import_run(run_id: int):
    from core.services import portfolio_writer

    try:
        run = portfolio_writer.get_run(run_id)
    except NotFound:
        abort(404)
    if portfolio_writer.is_stale(run):  # its process is gone: say so now, not after the chore
        portfolio_writer.fail_stale(run)
        run = portfolio_writer.get_run(run_id)
    return render("loans/import_run.html", fragment="loans/_import_progress.html", run=run,
                  errors=portfolio_writer.run_errors(run), run_failures=f.IMPORT_RUN_FAILURES)
