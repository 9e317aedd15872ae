"""Follow-ups of financed entrepreneurs (issue 16): when they are due, the personal link by mail,
reminders, answers by link or by the coach, and response rates.

A follow-up is due ``months`` after the client's first disbursement, for each interval of the
institution's ``followup_months`` setting (``core.plugin_api.followup_months_setting()``; default
6, 12, 24 and 36), and only while the client's ``impact_surveys`` consent stands. The daily chore
``followups`` creates the follow-ups that fell due (at most ``CATCH_UP_DAYS`` ago: a CRM started
years after a loan does not ask about long-gone months), mails each client with an address a
personal link (no sign-in, one use, ``LINK_DAYS`` valid, in the client's language) and sends up to
``MAX_REMINDERS`` reminders ``REMIND_AFTER_DAYS`` apart, each with a fresh link (the earlier one
stops working). Without consent nothing is sent, and answers already given leave the figures.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, select

from core import clock
from core import tenancy
from core import formatting
from core.extensions import db
from core.models import Client, Consent, Loan
from core.models.followups import Followup
from core.models.types import utcnow
from core.services import followup_questions, outbox
from core.services.errors import NotFound, ValidationFailed

DEFAULT_MONTHS = (6, 12, 24, 36)
CONSENT_KIND = "impact_surveys"
DISBURSED_STATUSES = ("active", "repaid", "written_off")
CATCH_UP_DAYS = 90
LINK_DAYS = 30
REMIND_AFTER_DAYS = 10
MAX_REMINDERS = 2


class LinkRefused(Exception):
    """A follow-up link that cannot be used: ``reason`` is ``invalid``, ``expired`` or ``used``."""

    def __init__(self, reason: str, language: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.language = language  # the client's, when the link is theirs (used, expired)


def intervals() -> tuple[int, ...]:
    """The current institution's follow-up intervals in months (setting ``followup_months``)."""
    from core.services import plugin_settings

    value = plugin_settings.effective().get("followup_months")
    try:
        months = tuple(sorted({int(part) for part in str(value).split(",") if part.strip()}))
    except ValueError:
        months = ()
    return months if value and months and all(m > 0 for m in months) else DEFAULT_MONTHS


def consent_standing():
    """SQL: true for a client (``Client.id``) whose ``impact_surveys`` consent stands."""
    return exists().where(Consent.client_id == Client.id, Consent.kind == CONSENT_KIND,
                          Consent.withdrawn_on.is_(None), Consent.institution_id == Client.institution_id)


def has_consent(client_id: int) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Client)
                                  .where(Client.id == client_id, consent_standing())))


def _first_loans():
    """(client id, loan id, first disbursement) of every consenting client of the institution."""
    first = (select(Loan.client_id, func.min(Loan.disbursed_on).label("first"))
             .where(Loan.disbursed_on.is_not(None), Loan.status.in_(DISBURSED_STATUSES))
             .group_by(Loan.client_id).subquery())
    rows = db.session.execute(
        select(first.c.client_id, first.c.first, func.min(Loan.id))
        .join(Loan, and_(Loan.client_id == first.c.client_id, Loan.disbursed_on == first.c.first))
        .join(Client, Client.id == first.c.client_id).where(consent_standing())
        .group_by(first.c.client_id, first.c.first))
    return [(client_id, loan_id, first_on) for client_id, first_on, loan_id in rows]


def create_due(today: date) -> int:
    """Create the follow-ups that fell due by ``today`` (current institution); how many."""
    from core.plugins import slug_for_id

    months = intervals()
    have = {(c, m) for c, m in db.session.execute(select(Followup.client_id, Followup.months))}
    version = followup_questions.version(slug_for_id(tenancy.current_institution_id()))
    added = 0
    for client_id, loan_id, first_on in _first_loans():
        for interval in months:
            due_on = first_on + relativedelta(months=interval)
            if (client_id, interval) in have or not (today - timedelta(days=CATCH_UP_DAYS) <= due_on <= today):
                continue
            db.session.add(Followup(client_id=client_id, loan_id=loan_id, months=interval, base_on=first_on,
                                    due_on=due_on, status="due", questionnaire=version, extra={}))
            added += 1
    return added


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _mail(followup: Followup, client: Client, template: str) -> None:
    token = secrets.token_urlsafe(32)
    followup.token_hash = _token_hash(token)
    followup.token_expires_at = utcnow() + timedelta(days=LINK_DAYS)
    outbox.enqueue(to=client.email, template=template, locale=client.preferred_language,
                   institution_id=client.institution_id, kind="followup",
                   context={"first_name": client.first_name, "months": followup.months, "token": token,
                            "days": LINK_DAYS})


@dataclass
class ChoreResult:
    created: int = 0
    invited: int = 0
    reminded: int = 0

    def __str__(self) -> str:
        return f"{self.created} follow-up(s) due, {self.invited} invitation(s), {self.reminded} reminder(s)"


def send_due(today: date, now: datetime | None = None) -> ChoreResult:
    """Create due follow-ups, mail invitations and reminders for the current institution; commit."""
    now = now or utcnow()
    result = ChoreResult(created=create_due(today))
    db.session.flush()
    pending = db.session.execute(
        select(Followup, Client).join(Client, Client.id == Followup.client_id)
        .where(Followup.status.in_(("due", "invited")), consent_standing(), Client.email.is_not(None),
               Client.email != "").order_by(Followup.id))
    for followup, client in pending:
        if followup.status == "due":
            _mail(followup, client, "followup_invitation")
            followup.status, followup.invited_at = "invited", now
            result.invited += 1
        elif followup.reminders < MAX_REMINDERS and \
                (followup.reminded_at or followup.invited_at) <= now - timedelta(days=REMIND_AFTER_DAYS):
            _mail(followup, client, "followup_reminder")
            followup.reminders += 1
            followup.reminded_at = now
            result.reminded += 1
    db.session.commit()
    return result


def send_due_everywhere() -> str:
    """The daily chore: :func:`send_due` for every institution."""
    from core.services.chores import each_institution, today

    results = each_institution(lambda: send_due(today()))
    total = ChoreResult(sum(r.created for r in results), sum(r.invited for r in results),
                        sum(r.reminded for r in results))
    return str(total)


# --- answering --------------------------------------------------------------------------------

def by_token(token: str, now: datetime | None = None) -> Followup:
    """The follow-up a link's token opens, or ``LinkRefused`` (invalid, expired, used).

    A forged token, or one of a client whose consent was withdrawn, is ``invalid``.
    """
    if not token or len(token) > 200:
        raise LinkRefused("invalid")
    with tenancy.all_institutions("a follow-up link names its institution by its token"):
        followup = db.session.scalar(select(Followup).where(Followup.token_hash == _token_hash(token)))
    if followup is None:
        raise LinkRefused("invalid")
    with tenancy.acting_for(followup.institution_id):
        consenting = has_consent(followup.client_id)
        language = tenancy.get(Client, followup.client_id).preferred_language
    if not consenting:
        raise LinkRefused("invalid")
    if followup.status == "answered":
        raise LinkRefused("used", language)
    if followup.token_expires_at is None or followup.token_expires_at <= (now or utcnow()):
        raise LinkRefused("expired", language)
    return followup


def client_of(followup: Followup) -> Client:
    with tenancy.acting_for(followup.institution_id):
        return tenancy.get(Client, followup.client_id)


def _apply(followup: Followup, answers: dict, by: str, on: date, user_id: int | None) -> None:
    for key, value in answers.items():
        setattr(followup, key, value)
    followup.status = "answered"
    followup.answered_by, followup.answered_on, followup.answered_at = by, on, utcnow()
    followup.recorded_by_id = user_id


def answer_by_link(token: str, raw: Mapping[str, Any]) -> Followup:
    """Store the entrepreneur's answers sent through the link (then it is used); commit.

    Raises ``LinkRefused`` or ``ValidationFailed`` (naming each field); nothing is stored then.
    """
    from core.plugins import slug_for_id

    followup = by_token(token)
    with tenancy.acting_for(followup.institution_id):
        answers = followup_questions.parse_answers(raw, followup_questions.questions(
            slug_for_id(followup.institution_id)))
        # lock the row (PostgreSQL) and look again: of two submissions at once, the second is "used"
        followup = db.session.scalar(select(Followup).where(Followup.id == followup.id)
                                     .with_for_update().execution_options(populate_existing=True))
        if followup.status == "answered" or followup.token_hash != _token_hash(token):
            db.session.rollback()
            raise LinkRefused("used")
        _apply(followup, answers, "entrepreneur", clock.today(), None)
        db.session.commit()
    return followup


def followups_of(client_id: int) -> list[Followup]:
    """A client's follow-ups (current institution), by interval."""
    return list(db.session.scalars(select(Followup).where(Followup.client_id == client_id)
                                   .order_by(Followup.months)))


def get(client_id: int, followup_id: int) -> Followup:
    followup = tenancy.get(Followup, followup_id)
    if followup is None or followup.client_id != client_id:
        raise NotFound(followup_id)
    return followup


def record_by_coach(client_id: int, followup_id: int, raw: Mapping[str, Any], *, user,
                    answered_on: date | None = None) -> Followup:
    """Record (or correct) the answers the coach took after a call; commit.

    Refused (``ValidationFailed`` on "") when the client's ``impact_surveys`` consent is withdrawn.
    """
    from core.plugins import slug_for_id

    followup = get(client_id, followup_id)
    if not has_consent(client_id):
        raise ValidationFailed({"": _l("The client withdrew the consent to impact surveys: nothing is recorded.")})
    answers = followup_questions.parse_answers(raw, followup_questions.questions(slug_for_id(followup.institution_id)))
    _apply(followup, answers, "coach", answered_on or clock.today(), user.id)
    db.session.commit()
    return followup


# --- response rates ---------------------------------------------------------------------------

def response_rates() -> list[dict]:
    """Per interval (current institution, consenting clients): follow-ups due, invited by mail,
    answered (by link, by the coach, imported) and the response rate (answered ÷ due, a string)."""
    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    rows = db.session.execute(
        select(Followup.months, func.count(), func.count(Followup.invited_at), count(Followup.status == "answered"),
               count(Followup.answered_by == "entrepreneur"), count(Followup.answered_by == "coach"),
               count(Followup.answered_by == "import"))
        .join(Client, Client.id == Followup.client_id).where(consent_standing())
        .group_by(Followup.months).order_by(Followup.months))
    found = []
    for months, due, invited, done, link, coach, imported in rows:
        done = int(done or 0)
        found.append({"months": months, "due": due, "invited": invited, "answered": done,
                      "by_link": int(link or 0), "by_coach": int(coach or 0), "imported": int(imported or 0),
                      "rate": f"{Decimal(done) / Decimal(due):.2f}" if due else None,
                      "percent": formatting.ratio(Decimal(done) / due, 0) if due else "–"})
    return found
