"""The header search: one box that finds clients, loans and referrals of the current institution.

What a query can match, each through an index, never a scan of a whole table:
- clients: what the client list's search finds (``clients.list_clients``): the beginning of a
  last, first or enterprise name, an enterprise number, a whole IBAN, a whole national number (by
  its hash; only for roles that may see national numbers);
- loans: the institution's own file number, or a structured payment reference (which encodes the
  loan's id);
- referrals offered to the institution: the referrer's external reference.

Everything runs under the tenant filter of the signed-in user's institution.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from core.extensions import db
from core.models import Client, Loan, Referral
from core.models.referrals import ReferralOffer
from core.services import clients, payment_reference

#: at most this many hits per kind; the client list shows the rest of a name search
LIMIT = 8
#: shorter queries are not searched (a single letter would match a tenth of the clients)
MIN_LENGTH = 2


@dataclass
class SearchResults:
    """Hits of one query, grouped by kind; ``more_clients`` when the client list holds more."""

    query: str
    clients: list[Client] = field(default_factory=list)
    loans: list[Loan] = field(default_factory=list)
    referrals: list[ReferralOffer] = field(default_factory=list)
    more_clients: bool = False

    @property
    def empty(self) -> bool:
        return not (self.clients or self.loans or self.referrals)


def search(query: str, *, user, limit: int = LIMIT) -> SearchResults:
    """What ``user`` may see of their institution that ``query`` names (see the module doc)."""
    query = " ".join((query or "").split())[:100]
    results = SearchResults(query=query)
    if len(query) < MIN_LENGTH:
        return results
    results.clients, results.more_clients = _clients(query, user, limit)
    results.loans = _loans(query, limit)
    results.referrals = _referrals(query, limit)
    return results


def _clients(query: str, user, limit: int) -> tuple[list[Client], bool]:
    """The client list's own search (see ``clients.list_clients``), its first ``limit`` hits."""
    filters = clients.ClientFilters(q=query, national_numbers=clients.may_see_sensitive(user))
    found, cursor = clients.list_clients(filters, limit=limit)
    return found, cursor is not None


def _loans(query: str, limit: int) -> list[Loan]:
    conditions = [Loan.loan_ref == query]
    try:
        conditions.append(Loan.id == payment_reference.loan_id_for_reference(query))
    except ValueError:
        pass
    rows: list[Loan] = []
    for condition in conditions:  # each one an index lookup; an OR would let a planner scan
        rows += [loan for loan in db.session.scalars(select(Loan).where(condition).limit(limit))
                 if loan not in rows]
    return rows[:limit]


def _referrals(query: str, limit: int) -> list[ReferralOffer]:
    return list(db.session.scalars(
        select(ReferralOffer).join(Referral, Referral.id == ReferralOffer.referral_id)
        .where(Referral.external_reference == query)
        .order_by(ReferralOffer.offered_at.desc()).limit(limit)))
