"""Core's pages, contributed through ``register_blueprints`` like any plugin's."""
from __future__ import annotations

from core.plugin_api import hookimpl


@hookimpl
def register_blueprints():
    """Core's blueprints (mounted at their own prefixes; only plugins are put under ``/i/``)."""
    from core import api
    from core.web import (account, admin, auth, clients, coaching, compliance, federation, home, loans,
                          notifications, operability, operator_mail, operator_screens, operator_users,
                          operator_worker, password, portal, portal_users, referrals, report_costs, reports,
                          search, second_factor, self_referral, settings, statements, financing, followups, metrics, lists)

    return [auth.bp, home.bp, admin.bp, settings.bp, clients.bp, coaching.bp, loans.bp, referrals.bp,
            referrals.federation_bp, compliance.bp, federation.bp, reports.bp, api.bp,
            operator_mail.bp, operator_worker.bp, operator_screens.bp, password.bp, notifications.bp, account.bp,
            operability.bp, self_referral.bp, statements.bp, financing.bp, portal.bp, portal_users.bp,
            second_factor.bp, operator_users.bp, report_costs.bp, followups.bp, metrics.bp, search.bp, lists.bp]
