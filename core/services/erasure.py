"""A client's right to erasure (GDPR art. 17), within the legal retention of loan records.

- **Erase**: the person's data in the client row replaced, their notes and plugin field values
  deleted, the mails sent to them removed from the outbox (and their follow-up links closed), the
  free text of their coaching and loans emptied, and their key destroyed
  (``audit.destroy_key``): the trail keeps who did what and when, and none of their values.
  Allowed while no loan record is within retention.
- **Pseudonymise**: while loan records must be kept (a loan still running, or repaid less than
  ``retention_years`` ago), the same replacement in the client row, the notes and plugin field
  values deleted, but the loan records kept as they are and the key kept: the trail's values stay
  readable to the institution's admin until the retention ends, as the law requires them kept.
- **Purge** (the worker's daily chore ``purge-retention``): erases every client whose loan records
  passed retention, pseudonymised or not.

The retention is the institution setting ``retention_years`` (``core.plugin_api.retention_setting``;
default 10), counted from the last repayment (or the write-off) of the client's last loan. Every
step is audited with codes only (the reason, the date the records are kept until), never a value.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, func, select

from core.clock import today
from core.extensions import db
from core.models import Client, ClientFieldValue, ClientNote, CoachingSession, CoachingTrack, LedgerEntry, Loan
from core.models.types import utcnow
from core.services import audit, plugin_settings
from core.services.errors import NotFound, ValidationFailed

DEFAULT_RETENTION_YEARS = 10
#: loans that are loan records (paid out); a draft or a refusal is not kept
RECORD_STATUSES = ("active", "repaid", "written_off")
#: loans that hold an erasure: paid out and not ended, or an application on its way
RUNNING_STATUSES = ("submitted", "approved", "active")
#: the grounds of GDPR art. 17(1), and the purge's own
REASONS = ("subject_request", "consent_withdrawn", "no_longer_needed", "objection", "unlawful")
PURGE_REASON = "retention_ended"
REASON_LABELS = {
    "subject_request": _l("The person asked for it"),
    "consent_withdrawn": _l("The person withdrew their consent"),
    "no_longer_needed": _l("The data is no longer needed"),
    "objection": _l("The person objected to the processing"),
    "unlawful": _l("The data was processed unlawfully"),
    "retention_ended": _l("The legal retention ended"),
}
HOWS = ("erase", "pseudonymise")
#: what stands in for the name (language-neutral: the row is read in three languages)
PLACEHOLDER_FIRST_NAME = "—"
PLACEHOLDER_BIRTH_DATE = date(1900, 1, 1)


@dataclass(frozen=True)
class Retention:
    """Whether the client's loan records must still be kept: ``running`` (a loan not yet ended),
    or until ``until`` (exclusive); neither: nothing holds the erasure."""

    running: bool = False
    until: date | None = None

    def holds(self, today: date) -> bool:
        return self.running or (self.until is not None and today < self.until)




def retention_years() -> int:
    value = plugin_settings.effective().get("retention_years")
    return value if isinstance(value, int) and value > 0 else DEFAULT_RETENTION_YEARS


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _ends(client_ids: list[int] | None = None) -> dict[int, tuple[bool, date | None]]:
    """client id -> (a loan still running, the last repayment or closing day of their loans);
    without ``client_ids``, every client not erased yet."""
    loans = (select(Loan.client_id, func.sum(case((Loan.status.in_(RUNNING_STATUSES), 1), else_=0)).label("running"),
                    func.max(Loan.closed_on).label("closed"))
             .where(Loan.status.in_((*RECORD_STATUSES, *RUNNING_STATUSES))).group_by(Loan.client_id))
    paid = (select(Loan.client_id, func.max(LedgerEntry.value_date).label("paid"))
            .join(LedgerEntry, LedgerEntry.loan_id == Loan.id)
            .where(Loan.status.in_(RECORD_STATUSES), LedgerEntry.kind.in_(("payment", "recovery")))
            .group_by(Loan.client_id))
    if client_ids is not None:
        loans, paid = loans.where(Loan.client_id.in_(client_ids)), paid.where(Loan.client_id.in_(client_ids))
    else:
        kept = select(Client.id).where(Client.erased_at.is_(None))
        loans, paid = loans.where(Loan.client_id.in_(kept)), paid.where(Loan.client_id.in_(kept))
    found = {row.client_id: (bool(row.running), row.closed) for row in db.session.execute(loans)}
    for row in db.session.execute(paid):
        running, closed = found[row.client_id]
        found[row.client_id] = (running, max(day for day in (closed, row.paid) if day is not None))
    return found


def retention_of(client_id: int) -> Retention:
    running, last = _ends([client_id]).get(client_id, (False, None))
    if running:
        return Retention(running=True)
    return Retention(until=_add_years(last, retention_years()) if last else None)


def _records(client: Client) -> dict[str, list[int]]:
    """The rows whose trail entries hold the client's personal values, by table."""
    found = {Client.__tablename__: [client.id]}
    for model in (ClientNote, CoachingTrack, CoachingSession, Loan, ClientFieldValue):
        found[model.__tablename__] = list(db.session.scalars(select(model.id).where(model.client_id == client.id)))
    return found


#: the kinds of mail sent to a client (not to staff): removed from the outbox with the person
CLIENT_MAIL_KINDS = ("followup",)


def _forget_mails(client: Client) -> None:
    """The mails sent or queued to the client (their name and address are in them), and the
    follow-up links they carried (a link mailed before no longer opens anything)."""
    from core.models import Followup, MailDelivery, OutboxMail

    if client.email:
        mails = select(OutboxMail.id).where(OutboxMail.institution_id == client.institution_id,
                                            OutboxMail.to_address == client.email,
                                            OutboxMail.kind.in_(CLIENT_MAIL_KINDS))
        db.session.execute(delete(MailDelivery).where(MailDelivery.mail_id.in_(mails)))
        db.session.execute(delete(OutboxMail).where(OutboxMail.id.in_(mails)))
    for followup in db.session.scalars(select(Followup).where(Followup.client_id == client.id,
                                                             Followup.token_hash.is_not(None))):
        followup.token_hash = followup.token_expires_at = None


def _replace_person(client: Client) -> None:
    from core.services.clients import search_key

    _forget_mails(client)
    client.first_name, client.last_name = PLACEHOLDER_FIRST_NAME, f"#{client.id}"
    client.birth_date = PLACEHOLDER_BIRTH_DATE
    for name in ("email", "phone", "street", "city", "country_of_birth", "education_level",
                 "employment_status", "household_size", "national_number_hash", "national_number_secret",
                 "national_number_last", "enterprise_name", "enterprise_number", "iban", "enterprise_key"):
        setattr(client, name, None)
    client.disability = False
    client.status = "closed"
    client.sort_key = search_key(f"{client.last_name} {client.first_name}")[:220]
    client.first_name_key = search_key(client.first_name)[:100]
    for row in db.session.scalars(select(ClientNote).where(ClientNote.client_id == client.id)):
        db.session.delete(row)
    for row in db.session.scalars(select(ClientFieldValue).where(ClientFieldValue.client_id == client.id)):
        db.session.delete(row)
    for track in db.session.scalars(select(CoachingTrack).where(CoachingTrack.client_id == client.id)):
        track.final_note = None
    for session in db.session.scalars(select(CoachingSession).where(CoachingSession.client_id == client.id)):
        session.notes, session.topics = None, ""


def _check(client: Client, how: str, reason: str, confirmed: bool) -> Retention:
    errors = {}
    if how not in HOWS:
        errors["how"] = _("Choose whether to erase or to pseudonymise.")
    if reason not in REASONS:
        errors["reason"] = _("Choose the reason.")
    if not confirmed:
        errors["confirm"] = _("Tick the box to confirm: this cannot be undone.")
    if client.erased_at is not None:
        errors[""] = _("This client's data was erased already.")
    elif how == "pseudonymise" and client.pseudonymised_at is not None:
        errors[""] = _("This client's data was pseudonymised already.")
    retention = retention_of(client.id)
    if how == "erase" and retention.holds(today()):
        errors["how"] = (_("A loan of this client is still running: its records must be kept. Pseudonymise "
                           "instead; the data is erased once the loan ended and its retention passed.")
                         if retention.running else
                         _("The loan records of this client must be kept until %(day)s (legal retention). "
                           "Pseudonymise instead; the worker erases the rest on that day.",
                           day=retention.until.isoformat()))
    if errors:
        raise ValidationFailed(errors)
    return retention


def apply(client_id: int, *, user, how: str, reason: str, confirmed: bool) -> Client:
    """An admin's erasure or pseudonymisation of their institution's client, in one transaction.

    Raises ``NotFound`` for another institution's client or a user who is not admin, and
    ``ValidationFailed`` (nothing written) on a missing choice or confirmation, or an erasure
    while loan records are within retention."""
    from core.services.clients import get_client

    if getattr(user, "role", None) != "admin":
        raise NotFound()
    client = get_client(client_id)
    retention = _check(client, how, reason, confirmed)
    try:
        _apply(client, how, reason, retention)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return client


def _apply(client: Client, how: str, reason: str, retention: Retention) -> None:
    audit.seal_records(_records(client))  # values written before the trail sealed them
    _replace_person(client)
    if how == "erase":
        for loan in db.session.scalars(select(Loan).where(Loan.client_id == client.id)):
            loan.purpose = loan.decision_note = None
        client.erased_at = utcnow()
        db.session.flush()
        audit.destroy_key("client", client.id)
    else:
        client.pseudonymised_at = utcnow()
    db.session.flush()
    audit.record("erase" if how == "erase" else "pseudonymise", client, {
        "reason": reason, "kept_until": "running" if retention.running else
        (retention.until.isoformat() if retention.until and how != "erase" else None)})


def purge(on: date | None = None) -> int:
    """Erase the current institution's clients whose loan records passed retention; how many."""
    on = on or today()
    years = retention_years()
    done = 0
    for client_id, (running, last) in _ends().items():
        if running or last is None or on < _add_years(last, years):
            continue
        client = db.session.get(Client, client_id)
        if client is None or client.erased_at is not None:
            continue
        _apply(client, "erase", PURGE_REASON, Retention())
        db.session.commit()
        done += 1
    return done


def purge_everywhere() -> int:
    """The daily chore ``purge-retention``: every institution's clients past retention."""
    from core.services.chores import each_institution

    with audit.acting_as("worker"):
        return sum(each_institution(purge))
