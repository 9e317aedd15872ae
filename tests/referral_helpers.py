"""Shared helpers for the referral registry tests."""
from __future__ import annotations

import copy
import json
from datetime import timedelta

from core import clock
from core.services import referrers


def body(**changes) -> dict:
    """A valid referral body; ``changes`` maps dotted paths to new values (None deletes)."""
    data = {
        "external_reference": "BANK-2026-0001",
        "consent": {"given_at": (clock.today() - timedelta(days=1)).isoformat() + "T09:00:00+01:00",
                    "method": "written", "scope": ["share_with_mfi", "contact"]},
        "applicant": {"first_name": "Sofie", "last_name": "Peeters", "birth_date": "1990-04-12",
                      "email": "sofie@example.be", "phone": "+32 470 12 34 56", "postal_code": "9000",
                      "language": "nl"},
        "project": {"amount_requested": "12000.00", "sector": "horeca", "stage": "starter",
                    "purpose": "Kitchen equipment for a small restaurant", "purpose_category": "investment"},
        "refusal": {"decided_on": (clock.today() - timedelta(days=2)).isoformat(),
                    "reasons": ["insufficient_collateral"]},
    }
    data = copy.deepcopy(data)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return data


def make_referrer(name="Bank Alpha", kind="bank", **kwargs):
    issued = referrers.add_referrer(name=name, kind=kind, **kwargs)
    return issued.referrer, issued.secret


def send(client, token, data, key="key-1", **headers):
    return client.post("/api/v1/referrals", data=json.dumps(data),
                       headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key,
                                "Content-Type": "application/json", **headers})


def auth(token):
    return {"Authorization": f"Bearer {token}"}
