"""Core's navigation entries, and the function that merges everyone's into the menu."""
from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l

from core.models import ALL_ROLES, INSTITUTION_ROLES, ROLES
from core.plugin_api import MENU_AREAS, MenuItem, hookimpl


@hookimpl
def menu_items(user, institution):
    """Core's own entries: home for all, the team and the audit trail for admins."""
    return list(_core_items())


@cache
def _core_items() -> tuple[MenuItem, ...]:
    """Core's entries, made once per process (frozen, with lazily translated labels: each page
    translates them in its reader's language)."""
    return (
        MenuItem(_l("Home"), "home.index", order=0, area="general", description=_l("Your starting page.")),
        MenuItem(_l("My account"), "account.index", frozenset(ALL_ROLES), order=95, area="general",
                 description=_l("Your email address, password and second factor.")),
        MenuItem(_l("Institutions"), "home.institutions", frozenset(ROLES), order=90, area="sector",
                 description=_l("Who serves whom across the sector.")),
        MenuItem(_l("Referrals"), "referrals.inbox", frozenset({"admin", "officer", "coach"}), order=30, area="clients",
                 description=_l("Entrepreneurs that banks and public financiers handed over to you.")),
        MenuItem(_l("Referral funnel"), "referral_funnel.funnel", frozenset({"auditor", "operator"}), order=30, area="reports",
                 description=_l("What became of referrals across the sector, without personal data.")),
        MenuItem(_l("Duty to inform"), "referral_funnel.duty_to_inform", frozenset({"auditor", "operator"}), order=31, area="reports",
                 description=_l("Per bank and public financier: refused applicants referred, and what became of them.")),
        MenuItem(_l("Our referrals"), "portal.index", frozenset({"referrer"}), order=10, area="portal",
                 description=_l("What became of the applicants your organisation referred.")),
        MenuItem(_l("Refer an applicant"), "portal.refer", frozenset({"referrer"}), order=20, area="portal",
                 description=_l("Hand a refused applicant over to the microfinance sector, with consent.")),
        MenuItem(_l("Portal users"), "portal_users.index", frozenset({"operator"}), order=74, area="operations",
                 description=_l("Advisers of banks and public financiers on the portal: invite, disable.")),
        MenuItem(_l("Outgoing mail"), "operator_mail.mail", frozenset({"operator"}), order=70, area="operations",
                 description=_l("Mails queued, sent and failed, and why.")),
        MenuItem(_l("Manage institutions"), "operator_screens.institution_list", frozenset({"operator"}), order=66, area="operations",
                 description=_l("Enable or disable an institution; nothing is deleted.")),
        MenuItem(_l("Referrer organisations"), "operator_screens.referrer_list", frozenset({"operator"}), order=68, area="operations",
                 description=_l("Banks and public financiers: API tokens, webhook, portal users.")),
        MenuItem(_l("Worker"), "operator_worker.worker", frozenset({"operator"}), order=72, area="operations",
                 description=_l("Scheduled chores: last run and result.")),
        MenuItem(_l("Federation users"), "operator_users.users", frozenset({"operator"}), order=74, area="operations",
                 description=_l("Auditors and operators: reset a lost second factor.")),
        MenuItem(_l("Team"), "admin.users", frozenset({"admin"}), order=80, area="administration",
                 description=_l("Invite colleagues, disable accounts.")),
        MenuItem(_l("Institution settings"), "settings.edit", frozenset({"admin"}), order=88, area="administration",
                 description=_l("Rates, ceilings and rules of your loan products.")),
        MenuItem(_l("Budget and social return"), "report_costs.edit", frozenset({"admin"}), order=89, area="administration",
                 description=_l("Your yearly budget and the assumptions of the social-return estimate.")),
        MenuItem(_l("Audit trail"), "admin.audit_trail", frozenset({"admin"}), order=85, area="administration",
                 description=_l("Who changed what, and when.")),
        MenuItem(_l("Clients"), "clients.index", frozenset(INSTITUTION_ROLES), order=10, area="clients",
                 description=_l("Entrepreneurs, their enterprise, notes and consents.")),
        MenuItem(_l("Agenda"), "coaching.agenda", frozenset(INSTITUTION_ROLES), order=20, area="clients",
                 description=_l("Your coming sessions and overdue actions.")),
        MenuItem(_l("Trainings"), "coaching.trainings", frozenset(INSTITUTION_ROLES), order=30, area="clients",
                 description=_l("Collective trainings, enrolment and attendance.")),
        MenuItem(_l("Coaching hours"), "coaching.hours", frozenset(INSTITUTION_ROLES), order=40, area="clients",
                 description=_l("Hours of coaching per coach and per client.")),
        MenuItem(_l("Loan decisions"), "loans.queue", frozenset({"admin", "officer"}), order=12, area="lending",
                 description=_l("Applications waiting for a second person's decision.")),
        MenuItem(_l("Late loans"), "loans.late", frozenset(INSTITUTION_ROLES), order=14, area="lending",
                 description=_l("Loans with a late instalment, longest late first.")),
        MenuItem(_l("Portfolio quality"), "loans.quality", frozenset({"admin", "officer"}), order=16, area="lending",
                 description=_l("PAR30 and PAR90 of your portfolio at any date.")),
        MenuItem(_l("Bank statement"), "statements.upload", frozenset({"admin", "officer"}), order=18, area="lending",
                 description=_l("Match bank-statement lines to loans and book the payments.")),
        MenuItem(_l("Import a portfolio"), "loans.import_portfolio", frozenset({"admin"}), order=87, area="lending",
                 description=_l("Bring clients and loans in from a spreadsheet (CSV).")),
        MenuItem(_l("Code of conduct"), "compliance.index", frozenset({"admin"}), order=70, area="administration",
                 description=_l("Self-assess against the code of good conduct.")),
        MenuItem(_l("Compliance"), "federation.dashboard", frozenset({"auditor"}), order=10, area="sector",
                 description=_l("Every institution's self-assessment, score and due dates.")),
        MenuItem(_l("Follow-up response rates"), "followups.rates", frozenset(INSTITUTION_ROLES), order=62, area="reports",
                 description=_l("Follow-ups of financed entrepreneurs: due, answered, response rate.")),
        MenuItem(_l("Impact report"), "reports.impact", frozenset(ROLES), order=60, area="reports",
                 description=_l("Who was financed, for how much, in which groups, sectors and regions.")),
        MenuItem(_l("Portfolio report"), "reports.portfolio", frozenset(ROLES), order=61, area="reports",
                 description=_l("Outstanding portfolio, arrears, write-offs and repayment, month by month.")),
        MenuItem(_l("Referral outcomes"), "reports.referrals", frozenset(ROLES), order=62, area="reports",
                 description=_l("What became of referrals, by kind of referrer and region.")),
    )


def menu_for(user, institution) -> list[MenuItem]:
    """The navigation of ``user``: core's and their own institution's plugin's items."""
    from core.plugins import call_contained

    batches = call_contained("menu_items", institution.slug if institution else None,
                             user=user, institution=institution)
    items = [item for batch in batches for item in batch]
    if user.role == "referrer":  # a portal user sees the portal's entries only, none meant for all staff
        visible = [item for item in items if item.roles and user.role in item.roles]
    else:
        visible = [item for item in items if not item.roles or user.role in item.roles]
    return sorted(visible, key=lambda item: (item.order, str(item.label)))


def menu_groups(items: list[MenuItem]) -> list[dict]:
    """The menu ``items`` grouped by area, in ``MENU_AREAS`` order; an item with no or an unknown
    area goes under "More". Each group: ``key``, ``label`` (None for the first, headless one), ``items``."""
    known = {key for key, _label in MENU_AREAS}
    groups = {key: {"key": key, "label": label, "items": []} for key, label in MENU_AREAS}
    for item in items:
        groups[item.area if item.area in known else "more"]["items"].append(item)
    return [group for group in groups.values() if group["items"]]
