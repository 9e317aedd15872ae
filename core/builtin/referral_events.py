"""Keeping the registry and client files in step, through the same ``on_event`` hook plugins use."""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from core.plugin_api import hookimpl

log = logging.getLogger(__name__)


@hookimpl
def on_event(event):
    """A withdrawn referral withdraws the client's sharing consent; a loan disbursed to a client
    who came through a referral closes that referral as financed (the referrer is told)."""
    if event.institution_id is None:
        return
    if event.name == "referral.withdrawn":
        _withdraw_sharing_consent(event.institution_id, event.data["referral_id"])
    elif event.name == "loan.disbursed":
        _close_as_financed(event.institution_id, event.data["client_id"],
                           date.fromisoformat(event.data["disbursed_on"]))


def _withdraw_sharing_consent(institution_id: int, referral_id: int) -> None:
    from core.extensions import db
    from core.models.people import Consent
    from core.models.referrals import ReferralOffer
    from core.services import clients
    from core.tenancy import acting_for

    with acting_for(institution_id):
        client_ids = [cid for cid in db.session.scalars(select(ReferralOffer.client_id).where(
            ReferralOffer.referral_id == referral_id)) if cid is not None]
        for consent in db.session.scalars(select(Consent).where(
                Consent.client_id.in_(client_ids), Consent.kind == "referral_sharing",
                Consent.withdrawn_on.is_(None))):
            clients.withdraw_consent(consent.id, client_id=consent.client_id)


def _close_as_financed(institution_id: int, client_id: int, disbursed_on: date) -> None:
    from core.extensions import db
    from core.models.referrals import ReferralOffer
    from core.services import referrals
    from core.tenancy import acting_for

    with acting_for(institution_id):
        offers = list(db.session.scalars(select(ReferralOffer).where(
            ReferralOffer.client_id == client_id, ReferralOffer.state == "accepted")))
        for offer in offers:
            referrals.record_outcome(offer.id, outcome="financed", disbursed_on=disbursed_on)
