"""The institution admin's budget and social-return assumptions (issue 16, point 3); the impact
report shows the cost per person and the estimate computed from them."""
from __future__ import annotations


from flask import Blueprint, flash, request
from flask_babel import gettext as _

from core import clock
from core.access import roles_required
from core.models import ROLE_ADMIN
from core.services.errors import ValidationFailed
from core.services.reports import cost
from core.web.forms import attach_errors
from core.web.forms_cost import BudgetForm, assumptions_form
from core.web.rendering import render

bp = Blueprint("report_costs", __name__, url_prefix="/reports/cost")
bp.add_app_template_global(cost.ASSUMPTIONS, "cost_assumptions")
bp.add_app_template_global(cost.MEMORANDUM, "cost_memorandum")


def _page(budget_form=None, assumptions=None, status: int = 200):
    return render("reports/cost.html", status=status, budgets=cost.budgets(),
                  budget_form=budget_form or BudgetForm(formdata=None, data={"year": str(clock.today().year)}),
                  assumptions_form=assumptions or assumptions_form(cost.assumptions(), formdata=None))


@bp.route("", methods=["GET"])
@roles_required(ROLE_ADMIN)
def edit():
    """The budgets entered so far, a form for a year's budget, and the assumptions."""
    return _page()


@bp.route("/budget", methods=["POST"])
@roles_required(ROLE_ADMIN)
def save_budget():
    """Store a year's budget; a bad year or amount: the field's error, what was typed kept (422)."""
    form = BudgetForm()
    if form.validate_on_submit():
        try:
            cost.save_budget(form.year.data, form.budget.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
        else:
            flash(_("Budget for %(year)s saved.", year=form.year.data), "success")
            return _page()
    return _page(budget_form=form, status=422)


@bp.route("/assumptions", methods=["POST"])
@roles_required(ROLE_ADMIN)
def save_assumptions():
    """Store every assumption at once; on any error nothing is stored (422)."""
    form = assumptions_form(formdata=request.form)
    if form.validate_on_submit():
        try:
            cost.save_assumptions({a.key: form[a.key].data for a in cost.ASSUMPTIONS})
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
        else:
            flash(_("Assumptions saved."), "success")
            return _page()
    return _page(assumptions=form, status=422)
