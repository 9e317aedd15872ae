"""Jinja filters and helpers: dates in Brussels time, translated labels for codes."""
from __future__ import annotations

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_timezone
from flask_babel import lazy_gettext as _l

from core import formatting
from core.services.contact_details import format_phone
from core.services.export_words import REFERRER_KIND_LABELS
from core.labels import REGION_LABELS, SECTOR_LABELS, STAGE_LABELS

ROLE_LABELS = {
    "admin": _l("administrator"),
    "officer": _l("loan officer"),
    "coach": _l("coach"),
    "auditor": _l("federation auditor"),
    "operator": _l("operator"),
    "referrer": _l("adviser of a bank or public financier"),
}
ACTION_LABELS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "reveal": _l("revealed"),
    "sign-in": _l("signed in"),
    "sessions-revoked": _l("signed out everywhere"),
    "download": _l("downloaded"),
    "export": _l("exported the personal data"),
    "list-export": _l("exported in a selection of the client list"),
    "2fa-enrol": _l("set up the second factor"),
    "2fa-disable": _l("switched the second factor off"),
    "2fa-reset": _l("second factor reset"),
    "2fa-new-codes": _l("made new recovery codes"),
    "2fa-recovery": _l("signed in with a recovery code"),
}
OFFER_STATE_LABELS = {
    "open": _l("waiting for us"), "accepted": _l("taken"), "declined": _l("declined"),
    "expired": _l("deadline passed"), "withdrawn": _l("withdrawn by the applicant"), "closed": _l("closed"),
}
REASON_LABELS = {
    "out_of_region": _l("outside our region"), "out_of_scope": _l("outside what we finance"),
    "amount_too_high": _l("amount too high"), "capacity": _l("no capacity now"),
    "not_eligible": _l("not eligible"), "applicant_unreachable": _l("applicant unreachable"),
    "other": _l("other"), "not_viable": _l("project not viable"),
    "repayment_capacity": _l("insufficient repayment capacity"), "over_indebted": _l("over-indebted"),
    "applicant_gave_up": _l("the applicant gave up"), "financed_elsewhere": _l("financed elsewhere"),
}
# The refusal reasons banks send most; a referrer's own code outside this list is shown readable.
REFUSAL_LABELS = {
    "insufficient_collateral": _l("insufficient collateral"), "insufficient_equity": _l("insufficient own funds"),
    "insufficient_repayment_capacity": _l("insufficient repayment capacity"),
    "negative_credit_history": _l("negative credit history"), "no_track_record": _l("no track record"),
    "sector_policy": _l("sector outside the bank's policy"), "amount_too_small": _l("amount too small for the bank"),
    "incomplete_business_plan": _l("incomplete business plan"), "other": _l("other"),
}
CONSENT_SCOPE_LABELS = {
    "share_with_mfi": _l("share with a microfinance institution"), "contact": _l("be contacted"),
    "impact_survey": _l("impact surveys"),
}
REFERRAL_CHANNEL_LABELS = {"api": _l("Through its API"), "portal": _l("By its advisers on the portal"),
                           "link": _l("By the applicant, through its link"), "self": _l("By the applicant, on their own")}
REFERRAL_OUTCOME_LABELS = {"open": _l("Still open"), "financed": _l("Financed"), "not_financed": _l("Not financed"),
                           "no_match": _l("No institution could take it"), "withdrawn": _l("Consent withdrawn"),
                           "linked": _l("Already had a case")}
DIMENSION_LABELS = {
    "referrer": _l("Referrer"), "institution": _l("Institution"), "region": _l("Region"), "month": _l("Month"),
}


def _label(table: dict, code) -> str:
    return str(table.get(str(code), code))


def _readable(table: dict, code) -> str:
    """A known code's translated label; an unknown one (a referrer's own) with spaces for underscores."""
    label = table.get(str(code))
    return str(label) if label is not None else str(code).replace("_", " ")


def plugin_institution(slug: str):
    from core.plugins import state

    return state().institution(slug)


#: dates as a page shows them, by (filter, locale, time zone, type, value): Babel works the pattern
#: and the locale's names out again on every call, and a schedule shows dozens of dates; bounded
_DATES = formatting.TextCache()


def _date_filter(kind: str, style: str, render):
    def formatted(value):
        if not value:
            return ""
        return _DATES.get((kind, str(get_locale()), str(get_timezone()), type(value), value),
                          lambda: render(value, style))
    return formatted


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = _date_filter("datetime", "short", format_datetime)
    app.jinja_env.filters["date"] = _date_filter("date", "medium", format_date)
    app.jinja_env.filters.update(formatting.FILTERS)
    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.filters["reject_key"] = lambda mapping, key: {k: v for k, v in mapping.items() if k != key}
    app.jinja_env.globals.update(
        role_label=lambda code: _label(ROLE_LABELS, code),
        region_label=lambda code: _label(REGION_LABELS, code),
        action_label=lambda code: _label(ACTION_LABELS, code),
        plugin_institution=plugin_institution,
        sector_label=lambda code: _label(SECTOR_LABELS, code),
        stage_label=lambda code: _label(STAGE_LABELS, code),
        offer_state_label=lambda code: _label(OFFER_STATE_LABELS, code),
        reason_label=lambda code: _label(REASON_LABELS, code),
        dimension_label=lambda code: _label(DIMENSION_LABELS, code),
        refusal_label=lambda code: _readable(REFUSAL_LABELS, code),
        consent_label=lambda code: _label(CONSENT_SCOPE_LABELS, code),
        referral_channel_label=lambda code: _label(REFERRAL_CHANNEL_LABELS, code),
        referral_outcome_label=lambda code: _label(REFERRAL_OUTCOME_LABELS, code),
        referrer_kind_label=lambda code: _label(REFERRER_KIND_LABELS, code),
        format_decimal=format_decimal,
    )
