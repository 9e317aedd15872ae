"""The bridge between a stored referral and an institution plugin's ``assess_referral``."""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models import PluginSetting
from core.models.referrals import Referral
from core.plugin_api import SECTORS, Eligibility, ReferralFacts

log = logging.getLogger(__name__)


def enterprise_age_months(started_on: date | None, today: date | None = None) -> int | None:
    """Whole months the enterprise has traded on ``today`` (None when the start is unknown)."""
    if started_on is None:
        return None
    today = today or clock.today()
    months = (today.year - started_on.year) * 12 + today.month - started_on.month
    if today.day < started_on.day:
        months -= 1
    return max(months, 0)


def facts_of(referral: Referral) -> ReferralFacts:
    """What an institution may weigh: the coded need, never the applicant's identity."""
    age = enterprise_age_months(referral.enterprise_started_on)
    if age is None and referral.stage == "project":
        age = 0
    return ReferralFacts(
        postal_code=referral.postal_code,
        language=referral.language,
        amount=referral.amount_requested,
        stage=referral.stage,
        sector=referral.sector if referral.sector in SECTORS else None,
        purpose=referral.purpose_category,
        enterprise_age_months=age,
        collective_debt_settlement=referral.collective_debt_settlement,
        undischarged_bankruptcy=referral.undischarged_bankruptcy,
        term_months=referral.term_months,
    )


_SETTINGS = select(PluginSetting.institution_id, PluginSetting.key, PluginSetting.value)  # built once


def settings_of(profiles: dict, ids: dict[str, int]) -> dict[str, dict]:
    """Every institution's effective settings, read in one query (slug -> values)."""
    from core.tenancy import REGISTRY, all_institutions

    with all_institutions("routing weighs each institution under its own settings", scope=REGISTRY):
        rows = db.session.execute(_SETTINGS).all()
    stored: dict[int, dict] = {}
    for institution_id, key, value in rows:
        stored.setdefault(institution_id, {})[key] = value
    values = {}
    for slug, profile in profiles.items():
        mine = stored.get(ids.get(slug), {})
        values[slug] = {}
        for setting in profile.settings():
            try:
                values[slug][setting.key] = setting.parse(mine[setting.key]) if setting.key in mine \
                    else setting.default
            except ValueError:
                values[slug][setting.key] = setting.default
    return values


def assess(slug: str, profile, settings: dict, referral: Referral, facts: ReferralFacts | None = None):
    """Ask one institution under its own settings; a plugin that fails counts as declining."""
    from core.services.referral_routing import Assessment

    try:
        answer = profile.assess_referral(facts or facts_of(referral), settings)
        if not isinstance(answer, Eligibility):
            raise TypeError(f"assess_referral returned {answer!r}, not an Eligibility")
    except Exception:
        log.exception("institution %s failed to assess referral %s", slug, referral.id)
        return Assessment(slug=slug, decision="decline", reason="assessment_failed")
    return Assessment(slug=slug, decision=answer.outcome,
                      reason=None if answer.outcome == "accept" else answer.code, fields=answer.fields)
