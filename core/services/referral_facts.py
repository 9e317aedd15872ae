"""The bridge between a stored referral and an institution plugin's ``assess_referral``."""
from __future__ import annotations

import logging

from core.geo import region_for_postal_code
from core.models.referrals import Referral

log = logging.getLogger(__name__)


def facts_of(referral: Referral) -> dict:
    """What an institution may weigh: the coded need, never the applicant's identity."""
    return {
        "postal_code": referral.postal_code,
        "region": referral.region,
        "language": referral.language,
        "amount": referral.amount_requested,
        "stage": referral.stage,
        "sector": referral.sector,
        "purpose": referral.purpose,
        "has_enterprise_number": bool(referral.enterprise_number),
    }


def _default_assessment(profile, facts: dict) -> tuple[str, str | None]:
    if region_for_postal_code(facts["postal_code"] or "") not in profile.regions:
        return "decline", "region_not_served"
    return "accept", None


def assess(slug: str, profile, referral: Referral):
    """Ask one institution; a plugin that fails is logged and counted as declining."""
    from core.services.referral_routing import Assessment

    facts = facts_of(referral)
    method = getattr(profile, "assess_referral", None)
    try:
        if method is None:
            decision, reason = _default_assessment(profile, facts)
        else:
            decision, reason = _unpack(method(facts))
    except Exception:
        log.exception("institution %s failed to assess referral %s", slug, referral.id)
        decision, reason = "decline", "assessment_failed"
    return Assessment(slug=slug, decision=decision, reason=reason)


def _unpack(result) -> tuple[str, str | None]:
    decision = getattr(result, "decision", None) or result[0]
    reason = getattr(result, "reason", None) if hasattr(result, "decision") else result[1]
    return str(decision), reason
