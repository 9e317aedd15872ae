"""The offer and contract summary as PDF (fpdf2, DejaVu font), in the language of the caller's
locale (the view forces the client's language)."""
from __future__ import annotations

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import ngettext

from dataclasses import dataclass

from core import formatting
from core.plugins import slug_for_id, state
from core.services.identifiers import format_enterprise_number
from core.services.prepayment import early_repayment_right
from core.services.pdf import new_document



_money = formatting.money


@dataclass(frozen=True)
class Lender:
    """Who lends, as the offer names them (from the institution's plugin profile)."""

    name: str
    address: str
    enterprise_number: str  # formatted 0123.456.789, or "" when the profile has none


def lender_of(loan, language: str) -> Lender:
    """The lender of ``loan``: the registered name (else the display name), office and number."""
    institution = state().institution(slug_for_id(loan.institution_id))
    if institution is None:
        return Lender("", "", "")
    number = institution.enterprise_number
    return Lender(institution.legal_name or institution.name(language), institution.address,
                  format_enterprise_number("".join(c for c in number if c.isdigit())) if number else "")


def lender_line(lender: Lender) -> str:
    """The lender on one line: "Lender: name, address, enterprise number 0123.456.789"."""
    parts = [lender.name, lender.address]
    if lender.enterprise_number:
        parts.append(_("enterprise number %(number)s", number=lender.enterprise_number))
    return _("Lender: %(lender)s", lender=", ".join(part for part in parts if part))


def offer_pdf(offer, product_name: str, language: str, lender: Lender | None = None) -> bytes:
    """A one-document summary: amounts, total cost of borrowing, APR, then the schedules."""
    loan = offer.loan
    pdf = new_document()
    pdf.set_lang(language)
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 7, _("Loan offer and contract summary"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    if lender is not None and lender.name:
        pdf.multi_cell(0, 6, lender_line(lender), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, _("Borrower: %(name)s", name=loan.client.full_name), new_x="LMARGIN", new_y="NEXT")
    rows = [(_("Product"), product_name), (_("Amount of the microloan"), _money(loan.principal)),
            (_("Term"), f"{loan.term_months} " + _("months")), (_("Nominal yearly rate"), formatting.percent(loan.annual_rate)),
            (_("Upfront fee"), _money(loan.upfront_fee)), (_("Total interest"), _money(offer.cost.interest)),
            (_("Total cost of borrowing"), _money(offer.cost.total)),
            (_("Annual percentage rate of charge (APR)"), formatting.percent(offer.apr)),
            (_("Total to repay"), _money(offer.total_repaid))]
    if offer.honour:
        rows += [(_("Interest-free honour loan"), _money(loan.honour_loan)),
                 (_("Interest and fees"), _("none, interest-free")),
                 (_("Repayment"), ngettext("%(num)d monthly instalment from %(date)s",
                                           "%(num)d monthly instalments from %(date)s", loan.term_months,
                                           date=format_date(offer.honour_first_due_on, "short"))),
                 (_("Total to repay"), _money(offer.honour_total_repaid))]
    pdf.ln(2)
    for label, value in rows:
        pdf.cell(90, 6, label)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    if offer.combined_apr is not None:
        pdf.multi_cell(0, 5, _("For information only: the APR of the microloan and the honour loan taken together "
                               "is %(apr)s; the microloan's own APR above is the one that applies to it.",
                               apr=formatting.percent(offer.combined_apr)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.multi_cell(0, 5, early_repayment_right(loan), new_x="LMARGIN", new_y="NEXT")
    for schedule, title in ((offer.schedule, _("Microloan schedule")),
                            (offer.honour, _("Honour loan schedule (no interest)"))):
        if schedule is not None:
            _schedule(pdf, schedule, title)
    pdf.ln(6)
    pdf.multi_cell(0, 6, _("Signature of the borrower") + ": ______________________   " + _("Date") + ": ____________",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _schedule(pdf, schedule, title: str) -> None:
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    widths = (10, 30, 30, 30, 30, 30)
    heads = ("#", _("Due date"), _("Principal"), _("Interest"), _("Instalment"), _("Balance after"))
    for width, head in zip(widths, heads):
        pdf.cell(width, 5, head)
    pdf.ln()
    for i in schedule.instalments:
        values = (str(i.number), format_date(i.due_on, "short"), formatting.amount(i.principal),
                  formatting.amount(i.interest), formatting.amount(i.total), formatting.amount(i.balance_after))
        for width, value in zip(widths, values):
            pdf.cell(width, 5, value)
        pdf.ln()
