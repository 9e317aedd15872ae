"""The referral registry's rules: receive, match, route, follow to an outcome, withdraw.

Every change of status writes an outbox message in the same transaction (core.services.webhooks),
so the referrer hears of it exactly when it is committed.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_, select

from core import clock
from core import tenancy
from core.extensions import db
from core.geo import region_for_postal_code
from core.models import Institution as InstitutionRow
from core.models.referrals import (
    ACCEPTED, CLOSED_STATUSES, CONTACTED, FINANCED, LINKED, NO_MATCH, NOT_FINANCED, OFFERED,
    OPEN_STATUSES, RECEIVED, WITHDRAWN, Referral, ReferralOffer, Referrer)
from core.models.types import utcnow
from core.plugin_api import Event
from core.plugins import emit
from core.services import audit, notifications, webhooks
from core.services.errors import NotFound, ValidationFailed
from core.services.referral_routing import DEFAULT_CONTACT_DAYS, add_working_days, assess_all, choose
from core.tenancy import REGISTRY, all_institutions

DECLINE_REASONS = ("out_of_region", "out_of_scope", "amount_too_high", "capacity", "not_eligible",
                   "applicant_unreachable", "other")
NOT_FINANCED_REASONS = ("not_viable", "repayment_capacity", "over_indebted", "applicant_gave_up",
                        "financed_elsewhere", "other")


def contact_days() -> int:
    return current_app.config.get("MICROFIN_REFERRAL_CONTACT_DAYS", DEFAULT_CONTACT_DAYS)


# --- what a referrer may see ----------------------------------------------------------------

def public_view(referral: Referral, *, offers: list | None = None, institutions: dict | None = None) -> dict:
    """The referral as its referrer sees it: status, institution, stages, outcome, the reason
    codes of the institutions that did not take it (not which one gave which); no notes.

    ``offers`` (this referral's offers) and ``institutions`` (id -> row) may be given by a caller
    that loaded them for a whole page at once."""
    institution = None
    if referral.institution_id is not None:
        institution = _institution_label(referral.institution_id, institutions)
    if offers is None:
        with all_institutions("the referrer sees the deadline of the open offer, not who else was asked", scope=REGISTRY):
            offers = db.session.execute(select(ReferralOffer.state, ReferralOffer.deadline,
                                               ReferralOffer.decline_reason)
                                        .where(ReferralOffer.referral_id == referral.id)).all()
    deadline = next((o.deadline for o in offers if o.state == "open"), None)
    return {
        "id": referral.id,
        "external_reference": referral.external_reference,
        "status": referral.status,
        "institution": institution,
        "linked_to": referral.linked_to_id,
        "outcome_reason": referral.outcome_reason,
        "decline_reasons": decline_codes(referral, offers),
        "contact_deadline": deadline.isoformat() if deadline else None,
        "stages": {name: _iso(getattr(referral, name)) for name in (
            "received_at", "offered_at", "accepted_at", "first_contact_at", "decided_at",
            "disbursed_at", "closed_at")},
        "updated_at": _iso(referral.updated_at),
    }


def _institution_label(institution_id: int, rows: dict | None = None) -> dict:
    """The institution's slug and English name as the referrer sees them: from its plugin (the
    stored row's names are copied from it, ``sync_institutions``) and the per-process id -> slug
    cache, so without a query; from the row when its plugin is not loaded here."""
    from core.plugins import slug_for_id, state

    row = (rows or {}).get(institution_id)
    slug = row.slug if row is not None else slug_for_id(institution_id)
    profile = state().institutions.get(slug)
    if profile is not None:
        return {"slug": slug, "name": profile.name("en")}
    row = row or db.session.get(InstitutionRow, institution_id)
    return {"slug": row.slug, "name": row.name("en")}


def decline_codes(referral: Referral, offers) -> list[str]:
    """The codes of every reason an institution gave for not taking the referral, sorted."""
    codes = {code for code in (referral.no_match_reasons or {}).values() if code and code != "accept"}
    codes |= {o.decline_reason for o in offers if o.state in ("declined", "expired") and o.decline_reason}
    return sorted(codes)


def public_views(rows: list[Referral]) -> list[dict]:
    """``public_view`` of a page of referrals in two extra queries (offers, institutions)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    with all_institutions("the referrer sees the deadline of the open offer, not who else was asked", scope=REGISTRY):
        found = db.session.execute(select(ReferralOffer.referral_id, ReferralOffer.state, ReferralOffer.deadline,
                                          ReferralOffer.decline_reason)
                                   .where(ReferralOffer.referral_id.in_(ids))).all()
    offers: dict[int, list] = {i: [] for i in ids}
    for row in found:
        offers[row.referral_id].append(row)
    wanted = {r.institution_id for r in rows if r.institution_id is not None}
    institutions = {row.id: row for row in db.session.scalars(
        select(InstitutionRow).where(InstitutionRow.id.in_(wanted)))} if wanted else {}
    return [public_view(r, offers=offers[r.id], institutions=institutions) for r in rows]


def _iso(value):
    return value.isoformat() if value is not None else None


def _changed(referral: Referral, event: str, offers: list | None = None) -> None:
    """Stamp the change and queue the referrer's notification in this transaction (``offers``:
    the referral's offers when the caller has them all, as for a referral just received)."""
    referral.updated_at = utcnow()
    db.session.flush()
    referrer = db.session.get(Referrer, referral.referrer_id)  # in the session since authentication
    if referrer is not None and referrer.webhook_url:
        webhooks.enqueue(referral, event, public_view(referral, offers=offers))


# --- receiving -------------------------------------------------------------------------------

def match_key(last_name: str | None, first_name: str | None) -> str | None:
    """The normalised "last first" a person is matched on (indexed with the birth date)."""
    from core.services.clients import search_key

    return search_key(f"{last_name} {first_name or ''}")[:220] if last_name else None


def _match_open_case(national_number_hash, first_name, last_name, birth_date) -> Referral | None:
    """One applicant, one open case across the sector (national number, or name key and birth date)."""
    return db.session.scalar(_open_case_query(bool(national_number_hash)),
                             {"key": match_key(last_name, first_name), "birth_date": birth_date,
                              "nn_hash": national_number_hash})


@lru_cache(maxsize=2)
def _open_case_query(by_national_number: bool):
    """The statement of ``_match_open_case``, built once (with or without the national number)."""
    same_person = and_(Referral.applicant_match_key == bindparam("key"),
                       Referral.applicant_birth_date == bindparam("birth_date"))
    if by_national_number:
        same_person = or_(Referral.national_number_hash == bindparam("nn_hash"), same_person)
    return select(Referral).where(same_person, Referral.status.in_(OPEN_STATUSES)).order_by(Referral.id).limit(1)


def _receive(referrer: Referrer, data, channel: str = "api", *, check_reference: bool = True) -> Referral:
    """Store a validated referral (``core.api.schemas.ReferralIn``), link or route it; no commit.

    Everything the decision needs is read first and the referral is written with its offer in
    one flush. ``check_reference=False``: the caller turns the unique constraint's
    ``IntegrityError`` into the field error itself (``receive_once``), no lookup beforehand."""
    from core.services.identifiers import national_number_hash

    taken = check_reference and db.session.scalar(select(Referral.id).where(
        Referral.referrer_id == referrer.id, Referral.external_reference == data.external_reference))
    if taken:
        raise ValidationFailed({"external_reference": _l("This reference was already used for referral %(id)s.",
                                                         id=taken)})
    applicant, project = data.applicant, data.project
    nn_hash = national_number_hash(applicant.national_number) if applicant.national_number else None
    referral = Referral(
        referrer_id=referrer.id, external_reference=data.external_reference, status=RECEIVED, channel=channel,
        applicant_first_name=applicant.first_name, applicant_last_name=applicant.last_name,
        applicant_birth_date=applicant.birth_date, national_number_hash=nn_hash,
        applicant_match_key=match_key(applicant.last_name, applicant.first_name),
        applicant_email=applicant.email, applicant_phone=applicant.phone,
        postal_code=applicant.postal_code, region=str(region_for_postal_code(applicant.postal_code)),
        language=applicant.language, collective_debt_settlement=applicant.collective_debt_settlement,
        undischarged_bankruptcy=applicant.undischarged_bankruptcy, amount_requested=project.amount_requested, sector=project.sector,
        stage=project.stage, purpose=project.purpose,
        purpose_category=project.purpose_category, enterprise_number=project.enterprise_number,
        enterprise_started_on=getattr(project, "enterprise_started_on", None),
        term_months=getattr(project, "term_months", None),
        refusal_decided_on=data.refusal.decided_on, refusal_reasons=list(data.refusal.reasons),
        consent_given_at=data.consent.given_at, consent_method=data.consent.method,
        consent_scope=list(data.consent.scope), received_at=utcnow(), updated_at=utcnow())
    referral.offers = []  # none yet: known without a query when the answer is built
    open_case = _match_open_case(nn_hash, applicant.first_name, applicant.last_name, applicant.birth_date)
    if open_case is not None:
        referral.status, referral.linked_to_id = LINKED, open_case.id
        referral.institution_id, referral.closed_at = open_case.institution_id, utcnow()
        referral.outcome_reason = "already_open"
        db.session.add(referral)
        _changed(referral, "referral.linked", offers=[])
    else:
        _route(referral, offered=set())
    return referral


def _reference_taken(referrer: Referrer, data) -> ValidationFailed:
    taken = db.session.scalar(select(Referral.id).where(Referral.referrer_id == referrer.id,
                                                        Referral.external_reference == data.external_reference))
    return ValidationFailed({"external_reference": _l("This reference was already used for referral %(id)s.",
                                                      id=taken)})


def receive(referrer: Referrer, data, *, channel: str = "api") -> Referral:
    """Store, match and route a referral in one transaction; tell plugins after commit.

    ``channel`` says how it arrived (``api``; ``portal`` for an adviser's form).

    The same ``external_reference`` sent twice at once gives one referral and, for the other,
    ``ValidationFailed`` naming the field (the unique constraint decides the race)."""
    from sqlalchemy.exc import IntegrityError

    try:
        referral = _receive(referrer, data, channel)
        received = _received_event(referral)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _reference_taken(referrer, data) from None
    emit(received)
    return referral


def store(referrer: Referrer, data, *, channel: str) -> Referral:
    """``receive`` in the caller's transaction (no commit), for a referral that arrived through
    another ``channel`` than the API (a self-referral); after committing, call ``announce``."""
    return _receive(referrer, data, channel)


def announce(referral: Referral) -> None:
    """Tell the plugins a referral was received (after its commit)."""
    _announce(referral)


def _announce(referral: Referral) -> None:
    emit(_received_event(referral))


def _received_event(referral: Referral) -> Event:
    """The plugins' ``referral.received``, built before the commit (which expires the referral)."""
    return Event("referral.received", referral.institution_id, {"referral_id": referral.id,
                                                                "status": referral.status})


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


def receive_once(referrer: Referrer, data, *, key: str, request_hash: str,
                 channel: str = "api") -> tuple[int, dict]:
    """``receive`` behind an idempotency key: the same key and body replay the first answer.

    The API and the advisers' portal (``channel="portal"``, a key per form shown) both call this.

    The answer is stored under the key in the same transaction as the referral, and the
    database's unique constraints decide: of requests racing with one key (or one
    ``external_reference``), one commits and the others fail at their INSERT (waiting for that
    commit), roll back and replay its answer. A first request therefore costs no lookup of the
    key; a retry is found when its INSERT fails.
    """
    from sqlalchemy.exc import IntegrityError

    from core.models.referrals import IdempotencyRecord

    def replay():
        record = db.session.scalar(select(IdempotencyRecord).where(
            IdempotencyRecord.referrer_id == referrer.id, IdempotencyRecord.key == key))
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise IdempotencyConflict()
        return record.status_code, record.body

    try:
        referral = _receive(referrer, data, channel, check_reference=False)
        answer = public_view(referral, offers=referral.offers)
        db.session.add(IdempotencyRecord(referrer_id=referrer.id, key=key, request_hash=request_hash,
                                         status_code=201, body=answer))
        received = _received_event(referral)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        answered = replay()
        if answered is not None:
            return answered
        raise _reference_taken(referrer, data) from None
    emit(received)
    return 201, answer


def _offers_of(referral: Referral) -> list:
    """The offers of a referral just routed in this session (no query: they are in the session)."""
    return [o for o in db.session.new if isinstance(o, ReferralOffer) and o.referral_id == referral.id] \
        or [o for o in db.session.identity_map.values()
            if isinstance(o, ReferralOffer) and o.referral_id == referral.id]


def _route(referral: Referral, offered: set[int] | None = None) -> None:
    """Offer the referral to the next institution that accepts, or close it as no match.

    Every institution's reason for not taking it is recorded (``no_match_reasons``: slug -> code)."""
    from core.services.referral_routing import _institutions, decline_summary

    new = referral.id is None  # just received: decided first, then stored with its offer at once
    with all_institutions("the registry routes a referral across institutions", scope=REGISTRY):
        if offered is None:
            offered = set(db.session.scalars(select(ReferralOffer.institution_id)
                                             .where(ReferralOffer.referral_id == referral.id)))
        rows = _institutions()
        assessments = assess_all(referral, rows)
        target = choose(referral, assessments, offered, rows)
        referral.no_match_reasons = decline_summary(assessments) or None
        if new:
            db.session.add(referral)
        if target is None:
            referral.status, referral.institution_id, referral.closed_at = NO_MATCH, None, utcnow()
            referral.outcome_reason = "no_institution_accepts"
            _changed(referral, "referral.no_match", offers=referral.offers if new else None)
            return
        offer = ReferralOffer(referral=referral, institution_id=target.id, state="open",
                              offered_at=utcnow(), deadline=add_working_days(clock.today(), contact_days()))
        db.session.add(offer)
        referral.status, referral.institution_id, referral.offered_at = OFFERED, target.id, utcnow()
        _changed(referral, "referral.offered", offers=referral.offers if new else None)
        notifications.referral_offered(offer)


# --- what the referrer reads and does -----------------------------------------------------------

@lru_cache(maxsize=1)
def _view_query():
    """One referral of a referrer with its offers' states (built once, run with bound ids)."""
    return (select(Referral, ReferralOffer.state, ReferralOffer.deadline, ReferralOffer.decline_reason)
            .outerjoin(ReferralOffer, ReferralOffer.referral_id == Referral.id)
            .where(Referral.id == bindparam("referral_id"), Referral.referrer_id == bindparam("referrer_id")))


def view_for_referrer(referrer: Referrer, referral_id: int) -> dict:
    """``public_view`` of one of ``referrer``'s referrals, read with its offers in one statement
    (``NotFound`` for another referrer's or an unknown id)."""
    with all_institutions("the referrer sees the deadline of the open offer, not who else was asked",
                          scope=REGISTRY):
        rows = db.session.execute(_view_query(), {"referral_id": referral_id, "referrer_id": referrer.id}).all()
    if not rows:
        raise NotFound()
    return public_view(rows[0][0], offers=[row for row in rows if row.state is not None])


def for_referrer(referrer: Referrer, referral_id: int) -> Referral:
    referral = db.session.scalar(select(Referral).where(Referral.id == referral_id,
                                                        Referral.referrer_id == referrer.id))
    if referral is None:
        raise NotFound()
    return referral


def encode_cursor(referral: Referral) -> str:
    raw = json.dumps([referral.updated_at.isoformat(), referral.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment, ident = datetime.fromisoformat(stamp), int(ident)
        if moment.tzinfo is None or not 0 < ident < 2**31:
            raise ValueError("out of range")
        return moment, ident
    except (ValueError, TypeError, UnicodeError) as exc:
        raise ValidationFailed({"cursor": _l("This cursor is not one the API gave.")}) from exc


def list_for_referrer(referrer: Referrer, updated_since: datetime | None, cursor: str | None,
                      limit: int) -> tuple[list[Referral], str | None]:
    """The referrer's referrals changed since a moment, oldest change first, keyset-paged."""
    query = select(Referral).where(Referral.referrer_id == referrer.id)
    if updated_since is not None:
        query = query.where(Referral.updated_at >= updated_since)
    if cursor:
        stamp, ident = decode_cursor(cursor)
        query = query.where(or_(Referral.updated_at > stamp,
                                and_(Referral.updated_at == stamp, Referral.id > ident)))
    rows = list(db.session.scalars(query.order_by(Referral.updated_at, Referral.id).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _erase_personal_data(referral: Referral) -> None:
    referral.applicant_first_name = referral.applicant_last_name = referral.applicant_match_key = None
    referral.applicant_birth_date = referral.national_number_hash = None
    referral.applicant_email = referral.applicant_phone = referral.postal_code = None
    referral.purpose = referral.enterprise_number = None  # free text may identify; the category stays
    referral.collective_debt_settlement = referral.undischarged_bankruptcy = None
    referral.erased_at = utcnow()


def withdraw(referrer: Referrer, referral_id: int) -> Referral:
    """The applicant withdrew consent: stop everywhere and erase their data from the registry."""
    referral = for_referrer(referrer, referral_id)
    if referral.status != WITHDRAWN:
        with all_institutions("withdrawal reaches the institution holding the referral", scope=REGISTRY):
            for current in db.session.scalars(select(ReferralOffer).where(
                    ReferralOffer.referral_id == referral.id, ReferralOffer.state.in_(("open", "accepted")))):
                current.state, current.answered_at = "withdrawn", utcnow()
            referral.status, referral.closed_at, referral.outcome_reason = WITHDRAWN, utcnow(), "consent_withdrawn"
            # the trail's values about the applicant: sealed with their key, which goes with the data
            audit.seal_records({"referrals": [referral.id],
                                "referral_offers": [offer.id for offer in referral.offers]})
            _erase_personal_data(referral)
            _changed(referral, "referral.withdrawn")
            audit.destroy_key("referral", referral.id)
        db.session.commit()
        emit(Event("referral.withdrawn", referral.institution_id, {"referral_id": referral.id}))
    return referral


# --- the institution's side (inbox) -------------------------------------------------------------

#: the inbox's sortable columns (``?sort=``); ties broken by the offer id
INBOX_SORTS = {"received": "offered_at", "deadline": "deadline", "status": "state"}
DEFAULT_INBOX_SORT = "deadline"


def inbox(include_closed: bool = False, sort=None) -> list[ReferralOffer]:
    """Offers made to the current institution, the most urgent first unless ``sort`` (a ``Sort``
    of ``INBOX_SORTS``) says otherwise."""
    from core.services.sorting import parse_sort

    sort = sort or parse_sort(None, INBOX_SORTS, DEFAULT_INBOX_SORT)
    states = ("open", "accepted") if not include_closed else ("open", "accepted", "declined", "expired",
                                                               "withdrawn", "closed")
    column = getattr(ReferralOffer, INBOX_SORTS[sort.key])
    order = (column.desc(), ReferralOffer.id.desc()) if sort.descending else (column, ReferralOffer.id)
    return list(db.session.scalars(select(ReferralOffer).where(ReferralOffer.state.in_(states))
                                   .order_by(*order)))


IDENTITY_STATES = ("open", "accepted", "closed")  # an institution still working on the case


def identity_visible(found: ReferralOffer) -> bool:
    """Whether this institution may see the applicant's identity: while the offer is open or taken.

    After it declined, or let the deadline pass, it keeps only the coded need (issue 13, point 2);
    after a withdrawal the data is erased anyway."""
    return found.state in IDENTITY_STATES and found.referral.erased_at is None


def contact_visible(found: ReferralOffer) -> bool:
    """The e-mail address and phone number: only with the identity and a consent to be contacted."""
    return identity_visible(found) and "contact" in (found.referral.consent_scope or [])


def view_offer(offer_id: int) -> ReferralOffer:
    """An offer opened by a person: when the applicant's identity is shown, the audit trail records
    who saw it (a ``reveal`` entry), committed with the page view."""
    found = offer(offer_id)
    if identity_visible(found):
        audit.record("reveal", found, {"fields": "applicant_identity" + (
            ",applicant_contact" if contact_visible(found) else "")})
        db.session.commit()
    return found


def offer(offer_id: int) -> ReferralOffer:
    """One of the current institution's offers (another institution's id: NotFound)."""
    found = tenancy.get(ReferralOffer, offer_id)
    if found is None:
        raise NotFound()
    return found


def _refuse_unless(found: ReferralOffer, *states: str) -> None:
    if found.state not in states:
        raise ValidationFailed({"": _l("This referral is no longer waiting for that step.")})


def accept(offer_id: int, *, notes: str | None = None, user=None) -> ReferralOffer:
    """The institution takes the case; an existing client file of the applicant is linked."""
    found = offer(offer_id)
    _refuse_unless(found, "open")
    found.state, found.answered_at, found.notes = "accepted", utcnow(), notes
    referral = found.referral
    referral.status, referral.accepted_at = ACCEPTED, utcnow()
    _changed(referral, "referral.accepted")
    existing = matching_client(found)
    if existing is not None and user is not None:
        link_client(found.id, existing.id, user=user)  # commits with the acceptance
    else:
        db.session.commit()
    return found


def decline(offer_id: int, *, reason: str) -> ReferralOffer:
    """The institution declines with a reason; the referral goes to the next that accepts."""
    if reason not in DECLINE_REASONS:
        raise ValidationFailed({"reason": _l("Choose a reason.")})
    found = offer(offer_id)
    _refuse_unless(found, "open")
    found.state, found.answered_at, found.decline_reason = "declined", utcnow(), reason
    referral = found.referral
    _route(referral)
    db.session.commit()
    return found


def record_contact(offer_id: int, *, contacted_on: date) -> ReferralOffer:
    """The first contact with the applicant took place."""
    found = offer(offer_id)
    _refuse_unless(found, "accepted")
    referral = found.referral
    if contacted_on > clock.today() or contacted_on < referral.received_at.date():
        raise ValidationFailed({"contacted_on": _l("Give a date between the referral and today.")})
    referral.status = CONTACTED
    referral.first_contact_at = datetime.combine(contacted_on, datetime.min.time(), timezone.utc)
    _changed(referral, "referral.contacted")
    db.session.commit()
    return found


def record_outcome(offer_id: int, *, outcome: str, reason: str | None = None,
                   disbursed_on: date | None = None) -> ReferralOffer:
    """Close the case: financed (with the disbursement date), not financed (reason), withdrew."""
    found = offer(offer_id)
    _refuse_unless(found, "accepted")
    referral = found.referral
    errors = {}
    if outcome not in ("financed", "not_financed", "applicant_withdrew"):
        errors["outcome"] = _l("Choose an outcome.")
    if outcome == "not_financed" and reason not in NOT_FINANCED_REASONS:
        errors["reason"] = _l("Choose a reason.")
    if outcome == "financed" and (disbursed_on is None or disbursed_on > clock.today()):
        errors["disbursed_on"] = _l("Give the disbursement date (not in the future).")
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    referral.decided_at = referral.closed_at = now
    found.state = "closed"
    if outcome == "financed":
        referral.status, referral.outcome_reason = FINANCED, None
        referral.disbursed_at = datetime.combine(disbursed_on, datetime.min.time(), timezone.utc)
    elif outcome == "not_financed":
        referral.status, referral.outcome_reason = NOT_FINANCED, reason
    else:
        referral.status, referral.outcome_reason = NOT_FINANCED, "applicant_withdrew"
    _changed(referral, f"referral.{referral.status}")
    db.session.commit()
    return found


def expire_overdue(today: date | None = None) -> int:
    """Offers past their contact deadline move to the next institution that accepts."""
    today = today or clock.today()
    moved = 0
    with all_institutions("the registry re-routes offers whose deadline passed", scope=REGISTRY):
        overdue = list(db.session.scalars(select(ReferralOffer).where(ReferralOffer.state == "open",
                                                                      ReferralOffer.deadline < today)))
        for found in overdue:
            found.state, found.answered_at, found.decline_reason = "expired", utcnow(), "deadline_passed"
            _route(found.referral)
            moved += 1
        db.session.commit()
    return moved


def is_closed(referral: Referral) -> bool:
    return referral.status in CLOSED_STATUSES


__all__ = ["receive", "withdraw", "accept", "decline", "record_contact", "record_outcome",
           "expire_overdue", "inbox", "public_view", "list_for_referrer", "for_referrer"]


# --- the referral becomes (or joins) a client file -------------------------------------------

_CONSENT_METHOD = {"written": "paper", "electronic": "online", "verbal_recorded": "phone"}


def matching_client(found: ReferralOffer):
    """The institution's existing client for this applicant (national number, or name and
    birth date), or None."""
    from core.models.people import Client
    from core.services.clients import search_key

    referral = found.referral
    conditions = []
    if referral.national_number_hash:
        conditions.append(Client.national_number_hash == referral.national_number_hash)
    if referral.applicant_last_name and referral.applicant_birth_date:
        name_key = search_key(f"{referral.applicant_last_name} {referral.applicant_first_name}")[:220]
        conditions.append(and_(Client.sort_key == name_key, Client.birth_date == referral.applicant_birth_date))
    if not conditions:
        return None
    return db.session.scalar(select(Client).where(or_(*conditions)).order_by(Client.id).limit(1))


def offer_awaiting_client_file(offer_id: int) -> ReferralOffer:
    """An offer the institution took and has not yet linked to a client file (else NotFound)."""
    found = offer(offer_id)
    if found.state != "accepted" or found.client_id is not None:
        raise NotFound()
    return found


def client_prefill(found: ReferralOffer) -> dict:
    """The consented data of the referral as client-form values (the officer completes the rest)."""
    referral = found.referral
    language = referral.language if referral.language in ("nl", "fr", "en") else None
    return {key: value for key, value in {
        "first_name": referral.applicant_first_name, "last_name": referral.applicant_last_name,
        "birth_date": referral.applicant_birth_date, "email": referral.applicant_email,
        "phone": referral.applicant_phone, "postal_code": referral.postal_code,
        "preferred_language": language, "sector": referral.sector, "stage": referral.stage,
        "enterprise_number": referral.enterprise_number,
    }.items() if value is not None}


def link_client(offer_id: int, client_id: int, *, user) -> ReferralOffer:
    """Attach the referral to the institution's client file and record the sharing consent."""
    from core.services import clients

    found = offer(offer_id)
    _refuse_unless(found, "accepted")
    client = clients.get_client(client_id)
    found.client_id = client.id
    referral = found.referral
    db.session.flush()
    clients.record_consent(client.id, kind="referral_sharing", given_on=referral.consent_given_at.date(),
                           method=_CONSENT_METHOD.get(referral.consent_method, "online"), user=user)
    return found
