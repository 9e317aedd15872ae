"""The bridge between a stored referral and an institution plugin's ``assess_referral``."""
from __future__ import annotations

import logging

from core.models.referrals import Referral
from core.plugin_api import SECTORS, Eligibility, ReferralFacts

log = logging.getLogger(__name__)

def facts_of(referral: Referral) -> ReferralFacts:
    """What an institution may weigh: the coded need, never the applicant's identity."""
    return ReferralFacts(
        postal_code=referral.postal_code,
        language=referral.language,
        amount=referral.amount_requested,
        stage=referral.stage,
        sector=referral.sector if referral.sector in SECTORS else None,
        purpose=referral.purpose_category,
        enterprise_age_months=0 if referral.stage == "project" else None,
        collective_debt_settlement=referral.collective_debt_settlement,
        undischarged_bankruptcy=referral.undischarged_bankruptcy,
    )


def assess(slug: str, profile, institution_id: int | None, referral: Referral):
    """Ask one institution under its own settings; a plugin that fails counts as declining."""
    from core.services import plugin_settings
    from core.services.referral_routing import Assessment
    from core.tenancy import acting_for

    try:
        settings = {}
        if institution_id is not None:
            with acting_for(institution_id):
                settings = plugin_settings.effective()
        answer = profile.assess_referral(facts_of(referral), settings)
        if not isinstance(answer, Eligibility):
            raise TypeError(f"assess_referral returned {answer!r}, not an Eligibility")
    except Exception:
        log.exception("institution %s failed to assess referral %s", slug, referral.id)
        return Assessment(slug=slug, decision="decline", reason="assessment_failed")
    return Assessment(slug=slug, decision=answer.outcome, reason=None if answer.outcome == "accept" else answer.code)
