"""Notifications: the bell in the header, immediate mails and the daily digest.

``notify(users, kind, params, link)`` is called by the service that makes the change, before its
commit: the notification rows and their immediate mails (``core.services.outbox``) are written in
that transaction, so a rolled-back change tells nobody. Each user chooses per kind (``KINDS``) to
hear ``immediately`` (a mail at once), in the daily ``digest`` (one mail a day with every item of
the day; an empty digest is not sent) or ``off`` (not at all). The bell and ``/notifications``
show the items of every kind not turned off.

A notification stores its ``kind`` and ``params`` (ids, dates, amounts, and the name of a client
of the recipient's own institution), never a rendered text: ``text()`` renders it in the reader's
language, on the page as in the mail. Notifications are tenant-scoped to the recipient's
institution and read only by their recipient.

The checks that depend on the calendar (a referral's contact deadline tomorrow or passed, a late
instalment, an overdue agreed action, tomorrow's coaching session, the next compliance due date)
run as daily chores (``core.services.chores.CHORES``); ``once_key`` makes each tell a thing once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable

from flask import current_app
from flask_babel import format_currency, format_date
from flask_babel import lazy_gettext as _l
from flask_babel import get_translations
from sqlalchemy import bindparam, func, select, update

from core import tenancy
from core.extensions import db
from core.models import ROLE_ADMIN, ROLE_COACH, ROLE_OFFICER, User
from core.models.notifications import (MODE_DIGEST, MODE_IMMEDIATELY, MODE_OFF, MODES, Notification,
                                       NotificationPreference)
from core.models.types import utcnow
from core.services import outbox
from core.services.errors import NotFound, ValidationFailed

STAFF = frozenset({ROLE_ADMIN, ROLE_OFFICER, ROLE_COACH})
LENDERS = frozenset({ROLE_ADMIN, ROLE_OFFICER})
ADMINS = frozenset({ROLE_ADMIN})
#: Without the institution setting ``late_notice_days``: tell of an instalment this many days late.
DEFAULT_LATE_DAYS = 7


@dataclass(frozen=True)
class Counted:
    """A text that depends on a count (``params[key]``): its singular and plural, chosen by
    ``ngettext`` when the notification is read (extracted with the keyword ``counted:1,2``)."""

    singular: str
    plural: str
    key: str

    def for_count(self, count) -> str:
        try:
            number = int(count)
        except (TypeError, ValueError):
            number = 2
        return get_translations().ngettext(self.singular, self.plural, number)  # formatted by text()


def counted(singular: str, plural: str, key: str) -> Counted:
    return Counted(singular, plural, key)


@dataclass(frozen=True)
class Kind:
    """A kind of notification: its label on the preferences page, the roles that may get it, the
    preference it starts with, and its texts (by ``params["variant"]``; ``""`` when it has one)."""

    label: Any
    roles: frozenset
    default: str
    texts: dict


KINDS: dict[str, Kind] = {
    "referral_offered": Kind(
        _l("A referral is offered to my institution"), LENDERS, MODE_IMMEDIATELY,
        {"": _l("A referral of %(amount)s was offered to your institution: first contact by %(deadline)s.")}),
    "referral_deadline": Kind(
        _l("The contact deadline of a referral is tomorrow, or passed"), LENDERS, MODE_IMMEDIATELY,
        {"tomorrow": _l("The contact deadline of referral %(offer)s is tomorrow, %(deadline)s."),
         "passed": _l("The contact deadline of referral %(offer)s passed on %(deadline)s.")}),
    "loan_awaiting_decision": Kind(
        _l("A loan application waits for my decision"), LENDERS, MODE_IMMEDIATELY,
        {"": _l("The loan application of %(client)s (%(amount)s) waits for your decision.")}),
    "loan_decided": Kind(
        _l("A decision was taken on my loan application"), LENDERS, MODE_IMMEDIATELY,
        {"approved": _l("Your loan application for %(client)s (%(amount)s) was approved."),
         "rejected": _l("Your loan application for %(client)s (%(amount)s) was rejected.")}),
    "instalment_late": Kind(
        _l("An instalment of a loan I follow is late"), STAFF, MODE_DIGEST,
        {"": counted("An instalment of the loan of %(client)s, due on %(due_on)s, is %(days)s day late.",
                     "An instalment of the loan of %(client)s, due on %(due_on)s, is %(days)s days late.", "days")}),
    "action_overdue": Kind(
        _l("An agreed coaching action is overdue"), STAFF, MODE_DIGEST,
        {"": _l("The action agreed with %(client)s for %(due_on)s is overdue: %(action)s")}),
    "session_tomorrow": Kind(
        _l("A coaching session is tomorrow"), STAFF, MODE_DIGEST,
        {"": _l("Coaching session with %(client)s tomorrow, %(held_on)s.")}),
    "assessment_reviewed": Kind(
        _l("The federation returned or decided our self-assessment"), ADMINS, MODE_IMMEDIATELY,
        {"returned": _l("The federation sent the self-assessment %(period)s back with comments."),
         "approved": _l("The federation approved the self-assessment %(period)s.")}),
    "assessment_due": Kind(
        _l("The next compliance report is due"), ADMINS, MODE_IMMEDIATELY,
        {"progress_report": _l("The progress report on the code-of-conduct award is due on %(due_on)s."),
         "renewal": _l("The renewal of the code-of-conduct award is due on %(due_on)s.")}),
    "import_finished": Kind(
        _l("An import finished or failed"), ADMINS, MODE_IMMEDIATELY,
        {"done": _l("The portfolio import %(filename)s finished: %(loans)s loans of %(clients)s clients."),
         "failed": _l("The portfolio import %(filename)s failed: nothing was imported.")}),
    "export_finished": Kind(
        _l("An export is ready"), STAFF, MODE_IMMEDIATELY,
        {"": counted("Your export of %(rows)s client is ready to download.",
                     "Your export of %(rows)s clients is ready to download.", "rows")}),
    "mail_bounced": Kind(
        _l("A mail of my institution could not be delivered"), ADMINS, MODE_IMMEDIATELY,
        {"": _l("A mail to %(to)s could not be delivered: %(error)s")}),
}

#: The outbox ``kind`` of a mail telling of a bounce (``mail_bounced``): a bounce of such a mail
#: is told in the app only, so two admins whose addresses both bounce do not mail each other forever.
BOUNCE_MAIL_KIND = "notification_bounce"


# --- writing -------------------------------------------------------------------------------------

def path(endpoint: str, **values) -> str:
    """The path of ``endpoint`` (no host), usable inside and outside a request."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def mode_of(user: User, kind: str) -> str:
    """The user's preference for ``kind``, or the kind's default."""
    with tenancy.all_institutions("a user's own notification preference"), db.session.no_autoflush:
        chosen = db.session.scalar(select(NotificationPreference.mode).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == kind))
    return chosen if chosen in MODES else KINDS[kind].default


def notify(users: Iterable[User | None], kind: str, params: dict, link: str, *,
           once_key: str | None = None, mailed: bool = True, not_mailed_to: Iterable[str] = (),
           mail_kind: str = "notification") -> list[Notification]:
    """Tell ``users`` (None and inactive ones skipped, each once) of ``kind`` with ``params``.

    Adds the notifications, and the immediate mails of those who want one, to the caller's
    transaction without committing. ``link`` is a path (``path(endpoint, …)``). With ``once_key``,
    a user already told of this kind and key is not told again. Without ``mailed``, and for a user
    whose address is one of ``not_mailed_to``, the notification is in the app only (no immediate
    mail, not in the digest). ``mail_kind`` names the mails on the operator's page. Returns what
    was added.
    """
    unmailed = {address.strip().lower() for address in not_mailed_to}
    spec = KINDS[kind]
    added, seen = [], set()
    for user in users:
        if user is None or user.id in seen or not user.active or user.role not in spec.roles:
            continue
        seen.add(user.id)
        mode = mode_of(user, kind)
        if mode == MODE_OFF or (once_key and _told(user, kind, once_key)):
            continue
        by_mail = mailed and user.email.strip().lower() not in unmailed
        notification = Notification(user_id=user.id, institution_id=user.institution_id, kind=kind,
                                    params=dict(params), link=link[:300], once_key=once_key,
                                    created_at=utcnow(), in_digest=by_mail and mode == MODE_DIGEST)
        db.session.add(notification)
        added.append(notification)
        if by_mail and mode == MODE_IMMEDIATELY:
            outbox.enqueue(to=user.email, template="notification", locale=user.preferred_language,
                           context={"user_name": user.name, "text": _Text(notification),
                                    "url": outbox.base_url() + notification.link,
                                    "preferences_url": outbox.external_url("notifications.preferences")},
                           institution_id=user.institution_id, kind=mail_kind)
    return added


def _told(user: User, kind: str, once_key: str) -> bool:
    with tenancy.all_institutions("has this user been told already"), db.session.no_autoflush:
        return db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.kind == kind,
            Notification.once_key == once_key)) > 0


def staff_of(institution_id: int, roles: Iterable[str]) -> list[User]:
    """The active users of an institution with one of ``roles`` (works in any tenant scope)."""
    with tenancy.all_institutions("the recipients of an institution's notification"), db.session.no_autoflush:
        return list(db.session.scalars(select(User).where(
            User.institution_id == institution_id, User.role.in_(tuple(roles)), User.active.is_(True))
            .order_by(User.id)))


def user(user_id: int | None) -> User | None:
    """A user by id, in any tenant scope (the recipient named on a record)."""
    if user_id is None:
        return None
    with tenancy.all_institutions("the recipient named on a record"), db.session.no_autoflush:
        return db.session.scalar(select(User).where(User.id == user_id))


# --- reading -------------------------------------------------------------------------------------

def _shown(key: str, value):
    """A stored parameter as the reader reads it: amounts and ISO dates through Babel, in the
    current language (of the page, or of the mail)."""
    if key == "amount":
        return format_currency(Decimal(str(value)), "EUR")
    if isinstance(value, str) and len(value) == 10:
        try:
            return format_date(date.fromisoformat(value), "medium")
        except ValueError:
            return value
    return value


#: What a mail says instead of a client's data: every mail can be read on the operator's page
#: (``/operator/mail``) and passes through SMTP servers, so it names no client; the page it links
#: to, for its recipient only, does.
IN_MAILS = {"client": _l("a client"), "action": _l("see the agreed actions on the client's file")}


def text(notification: Notification, *, for_mail: bool = False) -> str:
    """The notification's short text in the current language (of the page, or of the mail:
    ``for_mail`` leaves out the client's name and data)."""
    spec = KINDS.get(notification.kind)
    if spec is None:
        return notification.kind
    params = notification.params or {}
    template = spec.texts.get(params.get("variant", ""), next(iter(spec.texts.values())))
    values = _Defaulting({key: _shown(key, value) for key, value in params.items()})
    if "period_start" in params:
        values["period"] = f"{values['period_start']} – {values['period_end']}"
    if for_mail:
        values.update({key: str(value) for key, value in IN_MAILS.items() if key in values})
    if isinstance(template, Counted):
        template = template.for_count(params.get(template.key))
    return str(template) % values


class _Defaulting(dict):
    def __missing__(self, key):
        return "?"


class _Text:
    """A notification's text rendered when the mail template is (in the mail's language)."""

    def __init__(self, notification: Notification):
        self.notification = notification

    def __str__(self) -> str:
        return text(self.notification, for_mail=True)


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread (the bell, on every page)."""
    return db.session.scalar(_unread_count_statement(), {"user_id": user_id}) or 0


@functools.cache
def _unread_count_statement():
    """Built once: the bell's count is asked on every page (the tenant scope is added per query)."""
    return select(func.count()).select_from(Notification).where(
        Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))


def for_user(user_id: int, limit: int = 100) -> list[Notification]:
    """The user's notifications, unread first, newest first within each."""
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)
                                   .order_by(Notification.read_at.is_not(None), Notification.id.desc())
                                   .limit(limit)))


def get(notification_id: int, user_id: int) -> Notification:
    """One of the user's own notifications (another user's or institution's: ``NotFound``)."""
    found = tenancy.get(Notification, notification_id)
    if found is None or found.user_id != user_id:
        raise NotFound()
    return found


def open_notification(notification_id: int, user_id: int) -> Notification:
    """Mark one of the user's notifications read (it is opened) and commit."""
    found = get(notification_id, user_id)
    if found.read_at is None:
        found.read_at = utcnow()
        found.in_digest = False
        db.session.commit()
    return found


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow(), in_digest=False).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


# --- preferences ---------------------------------------------------------------------------------

def kinds_for(role: str) -> list[str]:
    """The kinds a user of ``role`` can receive, in the order of ``KINDS``."""
    return [kind for kind, spec in KINDS.items() if role in spec.roles]


def preferences(user: User) -> dict[str, str]:
    """Every kind the user can receive, with their mode (their choice or the default)."""
    stored = {row.kind: row.mode for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    return {kind: stored.get(kind, KINDS[kind].default) for kind in kinds_for(user.role)}


def save_preferences(user: User, chosen: dict[str, str]) -> dict[str, str]:
    """Store the user's mode for each of their kinds, all or nothing (``ValidationFailed`` names
    each kind whose mode is not one of ``MODES``)."""
    kinds = kinds_for(user.role)
    errors = {kind: _l("Choose immediately, in the daily digest, or off.")
              for kind in kinds if chosen.get(kind) not in MODES}
    if errors:
        raise ValidationFailed(errors)
    stored = {row.kind: row for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for kind in kinds:
        row = stored.get(kind)
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, mode=chosen[kind],
                                                  institution_id=user.institution_id))
        else:
            row.mode = chosen[kind]
    db.session.commit()
    return preferences(user)


# --- the daily digest ----------------------------------------------------------------------------

def send_digests() -> int:
    """One mail per user with their unread digest items (a user with none gets no mail); every
    digest item is then done with. Returns how many digests were queued."""
    sent = 0
    with tenancy.all_institutions("the daily digest goes to every user with digest items"):
        waiting = list(db.session.scalars(select(Notification).where(Notification.in_digest.is_(True))
                                          .order_by(Notification.user_id, Notification.id)))
        by_user: dict[int, list[Notification]] = {}
        for item in waiting:
            item.in_digest = False
            if item.read_at is None:
                by_user.setdefault(item.user_id, []).append(item)
        for user_id, items in by_user.items():
            recipient = db.session.get(User, user_id)
            if recipient is None or not recipient.active:
                continue
            outbox.enqueue(to=recipient.email, template="notification_digest",
                           locale=recipient.preferred_language,
                           context={"user_name": recipient.name,
                                    "items": [{"text": _Text(i), "url": outbox.base_url() + i.link} for i in items],
                                    "list_url": outbox.external_url("notifications.index"),
                                    "preferences_url": outbox.external_url("notifications.preferences")},
                           institution_id=recipient.institution_id, kind="notification_digest")
            sent += 1
        db.session.commit()
    return sent


# --- the daily checks ----------------------------------------------------------------------------

def daily_checks() -> str:
    """Every institution's calendar checks (a chore): referral deadlines, overdue agreed actions,
    tomorrow's sessions, compliance due dates. Returns what was told, by check."""
    from core.services.chores import each_institution, today

    on = today()
    totals = {"referral_deadlines": 0, "actions_overdue": 0, "sessions_tomorrow": 0, "assessments_due": 0}
    for counts in each_institution(lambda: {
            "referral_deadlines": referral_deadlines(on), "actions_overdue": actions_overdue(on),
            "sessions_tomorrow": sessions_tomorrow(on), "assessments_due": assessments_due(on)}):
        for key, value in counts.items():
            totals[key] += value
    return ", ".join(f"{key}: {value}" for key, value in totals.items())


def late_instalments_everywhere() -> int:
    """Every institution's loans with an instalment more than its ``late_notice_days`` late (a chore)."""
    from core.services.chores import each_institution, today

    on = today()
    return sum(each_institution(lambda: late_instalments(on)))


def _commit_count(added: list) -> int:
    db.session.commit()
    return len(added)


def referral_deadlines(on: date) -> int:
    """Tell the institution's lenders of open or not yet contacted referrals whose contact deadline
    is tomorrow, or passed (current institution)."""
    from core.models.referrals import Referral, ReferralOffer

    offers = db.session.scalars(select(ReferralOffer).join(Referral, Referral.id == ReferralOffer.referral_id)
                                .where(ReferralOffer.state.in_(("open", "accepted")),
                                       Referral.first_contact_at.is_(None),
                                       ReferralOffer.deadline <= on + timedelta(days=1)))
    added = []
    for offer in offers:
        variant = "tomorrow" if offer.deadline == on + timedelta(days=1) else "passed" if offer.deadline < on else None
        if variant is None:
            continue
        added += notify(staff_of(offer.institution_id, LENDERS), "referral_deadline",
                        {"variant": variant, "offer": f"#{offer.id}", "deadline": offer.deadline.isoformat()},
                        path("referrals.show", offer_id=offer.id), once_key=f"{offer.id}:{variant}")
    return _commit_count(added)


def late_notice_days() -> int:
    """The current institution's ``late_notice_days`` setting (declared with
    ``core.plugin_api.late_notice_setting()``), else ``DEFAULT_LATE_DAYS``."""
    from core.services import plugin_settings

    value = plugin_settings.effective().get("late_notice_days")
    return value if isinstance(value, int) else DEFAULT_LATE_DAYS


def late_instalments(on: date) -> int:
    """Tell the loan's officer (who drafted it) and the client's coach of a loan whose oldest
    unpaid instalment is more than ``late_notice_days`` late, once per such instalment."""
    from core.models import Client, Loan
    from core.services import positions

    limit = late_notice_days()
    oldest: dict[int, date] = {}
    for loan_id, _client_id, _version, due_on in positions.late_lines(on):
        oldest.setdefault(loan_id, due_on)
    added = []
    for loan_id, due_on in oldest.items():
        days = (on - due_on).days
        if days <= limit:
            continue
        loan = tenancy.get(Loan, loan_id)
        client = tenancy.get(Client, loan.client_id)
        added += notify([user(loan.drafted_by_id), user(client.coach_id)], "instalment_late",
                        {"client": client.full_name, "due_on": due_on.isoformat(), "days": days,
                         "loan_id": loan.id},
                        path("loans.show", loan_id=loan.id),
                        once_key=f"{loan.id}:{loan.schedule_version}:{due_on.isoformat()}")
    return _commit_count(added)


def actions_overdue(on: date) -> int:
    """Tell the client's coach (else the coach of the session) of agreed actions past their date."""
    from core.models import AgreedAction

    added = []
    for action in db.session.scalars(select(AgreedAction).where(AgreedAction.done.is_(False),
                                                                AgreedAction.due_on < on)):
        session = action.session
        coach = session.client.coach or session.coach
        added += notify([coach], "action_overdue",
                        {"client": session.client.full_name, "due_on": action.due_on.isoformat(),
                         "action": action.description},
                        path("clients.show", client_id=session.client_id), once_key=str(action.id))
    return _commit_count(added)


def sessions_tomorrow(on: date) -> int:
    """Tell the coach of each session planned for tomorrow, the day before."""
    from core.models import CoachingSession

    added = []
    tomorrow = on + timedelta(days=1)
    for session in db.session.scalars(select(CoachingSession).where(CoachingSession.held_on == tomorrow)):
        added += notify([session.coach], "session_tomorrow",
                        {"client": session.client.full_name, "held_on": tomorrow.isoformat()},
                        path("clients.show", client_id=session.client_id),
                        once_key=f"{session.id}:{tomorrow.isoformat()}")
    return _commit_count(added)


def assessments_due(on: date) -> int:
    """Tell the admins of the next due date of the institution's award (the latest approved
    self-assessment) once it is within the reminder window."""
    from core.models import Assessment
    from core.models.compliance import APPROVED
    from core.services.compliance import assessments

    awarded = db.session.scalar(select(Assessment).where(Assessment.status == APPROVED)
                                .order_by(Assessment.period_end.desc(), Assessment.id.desc()).limit(1))
    if awarded is None:
        return 0
    added = []
    for due in assessments.reminders(awarded, on):
        added += notify(staff_of(awarded.institution_id, ADMINS), "assessment_due",
                        {"variant": due.kind, "due_on": due.on.isoformat()},
                        path("compliance.assessment", assessment_id=awarded.id),
                        once_key=f"{awarded.id}:{due.kind}:{due.on.isoformat()}")
    return _commit_count(added)


# --- told by the services that make the change ---------------------------------------------------

def referral_offered(offer) -> list[Notification]:
    """A referral was just offered to an institution (called by routing, before its commit)."""
    db.session.flush()  # the offer's id, for the link
    referral = offer.referral
    return notify(staff_of(offer.institution_id, LENDERS), "referral_offered",
                  {"amount": f"{referral.amount_requested:.2f}", "deadline": offer.deadline.isoformat(),
                   "offer": f"#{offer.id}"},
                  path("referrals.show", offer_id=offer.id))


def _loan_params(loan) -> dict:
    from core.models import Client

    with db.session.no_autoflush:  # the caller's change is flushed by its commit, which may conflict
        client = tenancy.get(Client, loan.client_id)
    return {"client": client.full_name if client else "?", "amount": f"{loan.principal:.2f}", "loan_id": loan.id}


def loan_submitted(loan) -> list[Notification]:
    """A loan application waits for a decision: every lender of the institution but its drafter."""
    deciders = [u for u in staff_of(loan.institution_id, LENDERS) if u.id != loan.drafted_by_id]
    return notify(deciders, "loan_awaiting_decision", _loan_params(loan), path("loans.show", loan_id=loan.id))


def loan_decided(loan) -> list[Notification]:
    """The drafter of an application hears of its decision."""
    return notify([user(loan.drafted_by_id)], "loan_decided",
                  {**_loan_params(loan), "variant": "approved" if loan.status == "approved" else "rejected"},
                  path("loans.show", loan_id=loan.id))


def assessment_reviewed(assessment, variant: str) -> list[Notification]:
    """The federation sent the institution's self-assessment back (``returned``) or approved it."""
    return notify(staff_of(assessment.institution_id, ADMINS), "assessment_reviewed",
                  {"variant": variant, "period_start": assessment.period_start.isoformat(),
                   "period_end": assessment.period_end.isoformat()},
                  path("compliance.assessment", assessment_id=assessment.id))


def import_finished(run) -> list[Notification]:
    """A portfolio import run ended (done or failed): its author hears of it."""
    return notify([user(run.created_by_id)], "import_finished",
                  {"variant": "done" if run.status == "done" else "failed", "filename": run.filename,
                   "loans": run.loans, "clients": run.clients},
                  path("loans.import_run", run_id=run.id))


def export_finished(job) -> list[Notification]:
    """A client export is built: its author may download it."""
    return notify([user(job.user_id)], "export_finished", {"rows": job.done},
                  path("clients.export_progress", export_id=job.id))


def mail_bounced(mail) -> list[Notification]:
    """A mail of an institution failed for good (a permanent ``5xx``: the address bounced): its
    admins are told. Called by ``core.services.outbox`` before the commit that records the failure,
    so the failure and the notification are one transaction.

    The notification is never mailed to the address that bounced (an admin whose own address
    bounced is told in the app only, the bell), and a bounce of a mail that itself told of a bounce
    (``BOUNCE_MAIL_KIND``) is told in the app only, to every admin: a bounce cannot cause mails
    without end. A mail of no institution (self-referral confirmations) tells nobody: the
    operator's page ``/operator/mail`` shows it.
    """
    if mail.institution_id is None:
        return []
    # The outbox worker acts for no institution: the notices are written, and flushed, as the
    # mail's institution, which row-level security checks them against.
    with tenancy.acting_for(mail.institution_id):
        told = notify(staff_of(mail.institution_id, ADMINS), "mail_bounced",
                      {"to": mail.to_address, "error": (mail.last_error or "")[:200]},
                      path("admin.users"), mailed=mail.kind != BOUNCE_MAIL_KIND,
                      not_mailed_to=[mail.to_address], mail_kind=BOUNCE_MAIL_KIND)
        db.session.flush()
    return told
