"""Forms of lending. Amounts are ``AmountField``s, read strictly in the reader's language
(``core.services.amounts``): a bad amount gets its message next to the field, with what was typed
kept. Forms that book money carry a one-time ``submission`` token (``core.services.submissions``);
reversal and write-off ask for a reason and a confirmation."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from core.plugin_api import PURPOSES
from core.services.submissions import new_token
from core.web.money_fields import AmountField

PURPOSE_LABELS = {"investment": _l("Investment"), "working_capital": _l("Working capital"),
                  "refinancing": _l("Refinancing")}
STATUS_LABELS = {"draft": _l("Draft"), "submitted": _l("Waiting for a decision"), "approved": _l("Approved"),
                 "rejected": _l("Rejected"), "active": _l("Paid out, being repaid"), "repaid": _l("Repaid"),
                 "written_off": _l("Written off")}
LEDGER_LABELS = {"payment": _l("Payment"), "reversal": _l("Reversal"), "write_off": _l("Write-off"),
                 "recovery": _l("Recovery")}
#: why a portfolio import run ended without reading its file to the end (line 0 of its errors)
IMPORT_RUN_FAILURES = {
    "stale": _l("The import stopped before it finished (its process ended): nothing was imported and the "
                "stored file was deleted. Upload the file again."),
    "unexpected error": _l("The import failed on an unexpected error: nothing was imported. Upload the file "
                           "again; if it fails again, tell the operator."),
}
LINE_STATE_LABELS = {"booked": _l("Booked"), "queued": _l("Waiting in the queue"),
                     "assigned": _l("Assigned to a loan"), "dismissed": _l("Dismissed")}
BUCKET_LABELS = {"current": _l("Current"), "1-30": _l("1–30 days"), "31-60": _l("31–60 days"),
                 "61-90": _l("61–90 days"), ">90": _l("More than 90 days")}


class ApplicationForm(FlaskForm):
    product_code = SelectField(_l("Product"), choices=[])
    principal = AmountField(_l("Amount (EUR)"))
    term_months = StringField(_l("Term (months)"))
    purpose_category = SelectField(_l("Purpose"), choices=[SelectChoice("", "—")] + [SelectChoice(p, PURPOSE_LABELS[p]) for p in PURPOSES])
    purpose = TextAreaField(_l("What the loan pays for"))
    honour_loan = AmountField(_l("Honour loan (EUR)"), default="0")
    honour_deferral_months = StringField(_l("Honour loan: months before repayment starts"), default="0")
    grace_months = StringField(_l("Grace period on principal (months)"), default="0")
    bank_cofinancing = AmountField(_l("Bank co-financing (EUR)"), default="0")
    own_contribution = AmountField(_l("Own contribution (EUR)"), default="0")


class VersionForm(FlaskForm):
    version = HiddenField()


class DeleteDraftForm(VersionForm):
    confirmed = BooleanField(_l("I confirm: this draft application is deleted."),
                             validators=[DataRequired(_l("Tick the box to confirm."))])


class DecisionForm(VersionForm):
    note = TextAreaField(_l("Note on the decision"))


class OnceForm(FlaskForm):
    """A form that books money: its hidden token makes a second submit book nothing."""

    submission = HiddenField()

    def issue_token(self) -> None:
        """Give the form, when shown, a fresh token unless it carries one (a form sent back)."""
        if not self.submission.data:
            self.submission.data = new_token()


class DisburseForm(OnceForm, VersionForm):
    disbursed_on = DateField(_l("Paid out on"), validators=[Optional()])


class PaymentForm(OnceForm):
    paid_on = DateField(_l("Value date"), validators=[Optional()])
    amount = AmountField(_l("Amount (EUR)"))


_REASON = _l("Give the reason.")
_CONFIRM = _l("Tick the box to confirm.")


class ReversalForm(OnceForm):
    note = StringField(_l("Why it is reversed"), validators=[DataRequired(_REASON)])
    confirm = BooleanField(_l("I confirm: this payment is cancelled by a reversal entry."),
                           validators=[DataRequired(_CONFIRM)])


class WriteOffForm(OnceForm, VersionForm):
    written_off_on = DateField(_l("Written off on"), validators=[Optional()])
    reason = StringField(_l("Why it is written off"), validators=[DataRequired(_REASON)])
    confirmed = BooleanField(_l("I confirm: the loan leaves the portfolio and what is owed is written off."),
                           validators=[DataRequired(_CONFIRM)])


class RescheduleForm(VersionForm):
    rescheduled_on = DateField(_l("New schedule starts on"), validators=[Optional()])
    term_months = StringField(_l("New term (months)"))


class PayoffForm(OnceForm):
    paid_on = DateField(_l("Repaid on"), validators=[Optional()])


PREPAYMENT_OPTIONS = {"shorter_term": _l("Shorter term: the instalment stays, fewer instalments"),
                      "lower_instalment": _l("Lower instalment: as many instalments, each lower")}


#: How the ledger names a payment that made a schedule version (``LedgerEntry.source``; a
#: prepayment's note is the option chosen).
EARLY_REPAYMENT_LABELS = {"payoff": _l("early repayment, loan paid off"),
                          "shorter_term": _l("early repayment, shorter term"),
                          "lower_instalment": _l("early repayment, lower instalment")}


class PrepaymentForm(OnceForm):
    paid_on = DateField(_l("Repaid on"), validators=[Optional()])
    amount = AmountField(_l("Amount repaid early (EUR)"))
    option = RadioField(_l("After the prepayment"), choices=[SelectChoice(k, v) for k, v in PREPAYMENT_OPTIONS.items()],
                        validate_choice=False)


class StatementForm(FlaskForm):
    statement = FileField(_l("Bank statement (CSV)"))


class AssignLineForm(FlaskForm):
    """A queued statement line booked on a loan named by its number or structured reference."""

    loan = StringField(_l("Loan number or structured reference"))


class DismissLineForm(FlaskForm):
    """A queued statement line taken out of the queue without a booking, for a reason."""

    reason = StringField(_l("Why it is not booked"))


class ImportForm(FlaskForm):
    portfolio = FileField(_l("Portfolio (CSV)"))
