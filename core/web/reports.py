"""Impact, portfolio and referral-outcome reports: pages with SVG charts and tables, CSV and XLSX.

Institution staff see their own institution's figures, unsuppressed (the scope comes from the
signed-in user, never from the URL). The federation (auditors, operators) sees the sector, or one
institution's aggregates, with every cell under five persons suppressed.
"""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core import clock
from core.models import FEDERATION_ROLES, INSTITUTION_ROLES
from core import formatting
from core.services.errors import ValidationFailed
from core.plugins import slug_for_id
from core.services.institutions import enabled_institutions
from core.services.export_words import REFERRER_KIND_LABELS, TARGET_GROUP_LABELS
from core.services.reports import exports
from core.services.reports.common import SUPPRESSED, Scope, institution_scope, parse_date, parse_period, sector_scope
from core.services.reports.impact import impact_report
from core.services.reports.portfolio import portfolio_report
from core.services.reports.referral_outcomes import referral_outcomes
from core.access import roles_required
from core.web.charts import bar_chart, column_chart
from core.labels import REGION_LABELS, SECTOR_LABELS
from core.web.rendering import render

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (*INSTITUTION_ROLES, *FEDERATION_ROLES)
FORMATS = ("html", "csv", "xlsx")

LABELS = {**TARGET_GROUP_LABELS, **SECTOR_LABELS, **REGION_LABELS, **REFERRER_KIND_LABELS}


def label(key: str) -> str:
    return str(LABELS.get(key, key))


def shown(value, kind: str = "count") -> str:
    """A figure as displayed: "< 5" when suppressed, amounts with two decimals, ratios in percent."""
    if value == SUPPRESSED:
        return "< 5"
    if value is None:
        return "–"
    if kind == "amount":
        return formatting.amount(value)
    if kind == "ratio":
        return formatting.ratio(value)
    if kind == "days":
        return formatting.number(value, 1)
    return formatting.number(value)


def _number(value) -> Decimal | None:
    return None if value in (SUPPRESSED, None) else Decimal(value)


def _scope() -> Scope:
    """The signed-in user's scope; the federation may choose one institution (``?institution=``)."""
    if current_user.role in FEDERATION_ROLES:
        slug = request.args.get("institution", "").strip()
        return institution_scope(slug, suppress=True) if slug else sector_scope()
    return Scope(slug_for_id(current_user.institution_id), current_user.institution_id, False)


def _format() -> str:
    kind = request.args.get("format", "html")
    if kind not in FORMATS:
        abort(404)
    return kind


def _download(name: str, sheets: dict, kind: str):
    if kind == "csv":
        response = make_response("\ufeff" + exports.to_csv(sheets))
        response.mimetype = "text/csv"
    else:
        response = make_response(exports.to_xlsx(sheets))
        response.mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response


def _page(template: str, errors: dict | None = None, **context):
    institutions = enabled_institutions() if current_user.role in FEDERATION_ROLES else []
    args = {key: value for key, value in request.args.items() if key != "format"}
    urls = {kind: url_for(request.endpoint, **args, format=kind) for kind in ("csv", "xlsx")}
    return render(template, status=422 if errors else 200, errors=errors or {}, values=request.args,
                  institutions=institutions, label=label, shown=shown, download_urls=urls, **context)


def _serve(name: str, build, sheets, page):
    """One report view: build the report for the user's scope (errors: the page, 422, with what was
    typed), then a download (``?format=csv|xlsx``) or the page with its charts."""
    kind = _format()
    template = f"reports/{name}.html"
    try:
        scope = _scope()
        report = build(scope)
    except ValidationFailed as failed:
        return _page(template, failed.errors, report=None)
    if kind != "html":
        return _download(f"{name}-{scope.name}", sheets(report), kind)
    return _page(template, report=report, **page(report))


def _period():
    return parse_period(request.args.get("from"), request.args.get("to"))


@bp.route("/impact")
@roles_required(*READERS)
def impact():
    """Persons and amounts financed: overall, by target group, sector and region."""
    def charts(report):
        return {"charts": [bar_chart(title, [(label(key), _number(value["persons"]), shown(value["persons"]))
                                             for key, value in report[section].items()])
                           for section, title in (("target_groups", _("Persons financed by target group")),
                                                  ("sectors", _("Persons financed by sector")),
                                                  ("regions", _("Persons financed by region")))],
                "outcome_chart": _outcome_chart(report.get("outcomes"))}

    return _serve("impact", lambda scope: impact_report(scope, _period()), exports.impact_sheets, charts)


def _outcome_chart(outcomes: dict | None):
    """Businesses still active at 12, 24 and 36 months (of those who answered)."""
    if not outcomes:
        return None
    return bar_chart(_("Businesses still active, by months after the first disbursement"),
                     [(ngettext("%(num)d month", "%(num)d months", int(months)), _number(cell["active"]),
                       f'{shown(cell["active"])} / {shown(cell["answered"])}')
                      for months, cell in outcomes["active_after_months"].items()])


@bp.route("/portfolio")
@roles_required(*READERS)
def portfolio():
    """Portfolio quality at a date; disbursements, write-offs and repayment over a period; the trend."""
    def build(scope):
        at = parse_date(request.args.get("at"), "at") or clock.today()
        period = _period()
        return portfolio_report(scope, at, period if (period.start or period.end) else None)

    def charts(report):
        data = report.as_dict()
        trend = data["trend"]
        found = [column_chart(_("Gross outstanding portfolio at each month's end (EUR)"),
                              [(m["month"][2:], Decimal(m["gross_outstanding"]),
                                shown(m["gross_outstanding"], "amount")) for m in trend]),
                 column_chart(_("PAR30 at each month's end"),
                              [(m["month"][2:], Decimal(m["par30"]), shown(m["par30"], "ratio")) for m in trend])]
        return {"data": data, "charts": found if trend else []}

    return _serve("portfolio", build, exports.portfolio_sheets, charts)


@bp.route("/referrals")
@roles_required(*READERS)
def referrals():
    """What became of referrals: by referrer kind and by region."""
    def charts(report):
        return {"charts": [bar_chart(_("Referrals received by region"),
                                     [(label(r["key"]), _number(r["referred"]), shown(r["referred"]))
                                      for r in report["region"]])]}

    return _serve("referrals", lambda scope: referral_outcomes(scope, _period()), exports.referral_sheets, charts)
