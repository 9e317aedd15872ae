"""Outgoing e-mail: queued in the caller's transaction, sent over SMTP by ``microfin worker``.

``enqueue`` renders ``core/templates/mail/<template>.txt`` (and ``.html`` when it exists) in the
recipient's language and adds an :class:`OutboxMail` row to the current session *without
committing*: the mail exists exactly when the change that caused it is committed.

``deliver_due`` is what the worker runs. A worker *claims* a mail with one conditional UPDATE
(atomic on SQLite and PostgreSQL alike; on PostgreSQL the candidates are also picked with
``FOR UPDATE SKIP LOCKED``), sends it, and marks it sent, so any number of workers on any number of
nodes send each mail once. A claim not finished within ``CLAIM_SECONDS`` (a worker died) may be
taken again. A temporary failure (server unreachable, 4xx) is retried with back-off; a permanent
one (5xx: address refused, bounce) or ``MAX_ATTEMPTS`` failures end in ``failed``, recorded with
the reason and never retried. A permanent failure of a mail of an institution also tells that
institution's admins (notification kind ``mail_bounced``), in the same transaction. Every attempt
is written to the delivery log (``MailDelivery``).

Without ``MICROFIN_SMTP_HOST`` nothing is sent: the mails stay in the database, readable by the
operator on ``/operator/mail``.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from core.config import LANGUAGES
from core.extensions import db
from core.models.accounts import Institution
from core.models.mail import MAIL_FAILED, MAIL_QUEUED, MAIL_SENT, MailDelivery, OutboxMail
from core.models.types import utcnow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120
MAX_ATTEMPTS = 10
SUBJECT_PREFIX = "Subject:"


class MailTemplateError(ValueError):
    """A mail template is missing or has no ``Subject:`` first line."""


# --- rendering -------------------------------------------------------------------------------

def mail_locale(locale: str | None, languages: tuple[str, ...] = LANGUAGES) -> str:
    """The language a mail is written in: one of ``languages`` (ours), else English."""
    code = (locale or "").split("-")[0].split("_")[0].lower()
    return code if code in languages else "en"


def base_url() -> str:
    """``MICROFIN_BASE_URL`` without a trailing slash: the start of every link in a mail."""
    return (current_app.config.get("MICROFIN_BASE_URL") or "http://localhost:5000").rstrip("/")


def external_url(endpoint: str, **values) -> str:
    """An absolute link to ``endpoint`` under ``MICROFIN_BASE_URL``; works outside a request."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                       url_scheme=parts.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


@dataclass
class RenderedMail:
    subject: str
    text: str
    html: str | None


def render(template: str, context: dict, locale: str, institution_id: int | None = None,
           languages: tuple[str, ...] = LANGUAGES) -> RenderedMail:
    """Render ``mail/<template>.txt`` (first line ``Subject: …``) and ``mail/<template>.html``.

    The templates see ``context`` plus ``institution_name`` (in the mail's language, or
    "Microfin CRM"), ``base_url``, ``link(endpoint, **values)`` and ``language``. ``languages``
    are those the mail may be written in (the self-referral mail also in German).
    """
    language = mail_locale(locale, languages)
    env = current_app.jinja_env
    institution = db.session.get(Institution, institution_id) if institution_id else None
    full = {"institution_name": institution.name(language) if institution else "Microfin CRM",
            "base_url": base_url(), "link": external_url, "language": language, **context}
    with force_locale(language):
        try:
            text = env.get_template(f"mail/{template}.txt").render(full)
        except Exception as exc:  # jinja2.TemplateNotFound and friends
            if exc.__class__.__name__ == "TemplateNotFound":
                raise MailTemplateError(f"no mail template mail/{template}.txt") from exc
            raise
        try:
            html = env.get_template(f"mail/{template}.html").render(full)
        except Exception as exc:
            if exc.__class__.__name__ != "TemplateNotFound":
                raise
            html = None
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise MailTemplateError(f"mail/{template}.txt must start with 'Subject: …'")
    subject = " ".join(first[len(SUBJECT_PREFIX):].split())
    return RenderedMail(subject=subject[:300], text=rest.strip("\n") + "\n", html=html)


def enqueue(*, to: str, template: str, context: dict, locale: str,
            institution_id: int | None = None, kind: str,
            languages: tuple[str, ...] = LANGUAGES) -> OutboxMail:
    """Render a mail in ``locale`` and add it to the outbox in the caller's transaction.

    Nothing is committed here: the caller's commit sends the mail (through the worker), its
    rollback forgets it. ``kind`` names what the mail is for (``password_reset``, ``invitation``,
    ``notification``…) on the operator's page and in the delivery log.
    """
    rendered = render(template, context, locale, institution_id, languages)
    mail = OutboxMail(kind=kind[:40], template=template, to_address=to.strip(),
                      locale=mail_locale(locale, languages),
                      institution_id=institution_id, subject=rendered.subject,
                      body_text=rendered.text, body_html=rendered.html, status=MAIL_QUEUED,
                      next_attempt_at=utcnow(), attempts=0)
    db.session.add(mail)
    return mail


# --- delivery --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    security: str  # none | starttls | tls
    sender: str
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config) -> "SmtpSettings | None":
        host = config.get("MICROFIN_SMTP_HOST")
        if not host:
            return None
        security = (config.get("MICROFIN_SMTP_SECURITY") or "none").lower()
        default_port = {"tls": 465, "starttls": 587}.get(security, 25)
        return cls(host=host, port=int(config.get("MICROFIN_SMTP_PORT") or default_port),
                   user=config.get("MICROFIN_SMTP_USER") or None,
                   password=config.get("MICROFIN_SMTP_PASSWORD") or None, security=security,
                   sender=config.get("MICROFIN_MAIL_FROM") or "Microfin CRM <no-reply@localhost>",
                   timeout=float(config.get("MICROFIN_SMTP_TIMEOUT") or 20))


@dataclass
class Outcome:
    ok: bool
    permanent: bool = False
    code: int | None = None
    error: str | None = None


def backoff(attempts: int) -> timedelta:
    """Wait 1, 2, 4 … minutes between attempts, at most 4 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 240))


def build_message(mail: OutboxMail, sender: str) -> EmailMessage:
    """The MIME message of an outbox row: a text part, and an HTML alternative when there is one."""
    message = EmailMessage()
    name, address = parseaddr(sender)
    if mail.institution_id:
        institution = db.session.get(Institution, mail.institution_id)
        if institution is not None:
            name = f"{institution.name(mail.locale)} · {name or 'Microfin CRM'}"
    message["From"] = formataddr((name, address)) if name else address
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(idstring=f"mail{mail.id}", domain=address.partition("@")[2] or None)
    message["X-Microfin-Mail"] = str(mail.id)
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    message["Content-Language"] = mail.locale  # after the parts: set_content drops Content-* headers
    return message


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            server.starttls(context=ssl.create_default_context())
    if settings.user:
        server.login(settings.user, settings.password or "")
    return server


def smtp_send(settings: SmtpSettings, message: EmailMessage) -> Outcome:
    """Hand one message to the SMTP server; classify a failure as temporary or permanent."""
    try:
        with _connect(settings) as server:
            refused = server.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return Outcome(False, permanent=code >= 500, code=code, error=_smtp_text(code, text))
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth failed
        return Outcome(False, permanent=exc.smtp_code >= 500 and not isinstance(
            exc, smtplib.SMTPAuthenticationError), code=exc.smtp_code, error=_smtp_text(exc.smtp_code, exc.smtp_error))
    except (smtplib.SMTPException, OSError) as exc:  # unreachable, timeout, TLS trouble
        return Outcome(False, error=f"{exc.__class__.__name__}: {exc}"[:500])
    if refused:
        code, text = next(iter(refused.values()))
        return Outcome(False, permanent=code >= 500, code=code, error=_smtp_text(code, text))
    return Outcome(True, code=250)


def _smtp_text(code: int, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}"[:500]


def _due_ids(now: datetime, limit: int) -> list[int]:
    query = (select(OutboxMail.id)
             .where(OutboxMail.status == MAIL_QUEUED, OutboxMail.next_attempt_at <= now,
                    or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now))
             .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    db.session.commit()  # end the read (and release the row locks) before claiming
    return ids


def _claim(mail_id: int, worker: str, now: datetime) -> bool:
    """Take one mail for ``CLAIM_SECONDS``; False when another worker has it or it is done."""
    result = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == MAIL_QUEUED,
               or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=worker[:80])
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _record(mail: OutboxMail, worker: str, outcome: Outcome, elapsed_ms: int) -> None:
    now = utcnow()
    mail.attempts += 1
    db.session.add(MailDelivery(mail_id=mail.id, worker=worker[:80], ok=outcome.ok, smtp_code=outcome.code,
                                error=outcome.error, duration_ms=elapsed_ms, attempted_at=now))
    if outcome.ok:
        mail.status, mail.sent_at, mail.last_error = MAIL_SENT, now, None
    elif outcome.permanent or mail.attempts >= MAX_ATTEMPTS:
        mail.status, mail.failed_at, mail.last_error = MAIL_FAILED, now, outcome.error
        if outcome.permanent:
            _tell_bounce(mail)
    else:
        mail.next_attempt_at, mail.last_error = now + backoff(mail.attempts), outcome.error
    mail.claimed_until = None
    db.session.commit()
    if mail.status == MAIL_FAILED:
        _tell_failure(mail)


def _tell_bounce(mail: OutboxMail) -> None:
    """Tell the admins of the mail's institution that its address bounced (``mail_bounced``), in
    the transaction that records the failure. In a savepoint: should telling fail, the failure is
    still recorded (and the mail never sent again)."""
    from core.services import notifications  # it queues its own mails here

    try:
        with db.session.begin_nested():
            notifications.mail_bounced(mail)
    except Exception:
        log.exception("telling the admins of the bounce of mail %s failed", mail.id)


# Called, after the commit, with a mail that failed for good (permanently or after MAX_ATTEMPTS).
failure_listeners: list = []


def _tell_failure(mail: OutboxMail) -> None:
    for listener in failure_listeners:
        try:
            listener(mail)
        except Exception:  # telling someone must never stop delivery of the rest
            log.exception("mail failure listener failed for mail %s", mail.id)
            db.session.rollback()


def deliver_due(now: datetime | None = None, *, worker: str | None = None, limit: int = 100) -> int:
    """Send the mails that are due; returns how many this worker attempted (0 without SMTP host).

    Safe to run from any number of workers at once: each mail is claimed before it is sent.
    """
    settings = SmtpSettings.from_config(current_app.config)
    if settings is None:
        return 0
    worker = worker or _default_worker_name()
    now = now or utcnow()
    attempted = 0
    for mail_id in _due_ids(now, limit):
        if not _claim(mail_id, worker, utcnow()):
            continue  # another worker has it
        mail = db.session.get(OutboxMail, mail_id)
        db.session.refresh(mail)
        started = time.monotonic()
        try:
            outcome = smtp_send(settings, build_message(mail, settings.sender))
        except Exception as exc:  # a bug or odd data must not leave the claim hanging
            log.exception("building or sending mail %s failed", mail_id)
            outcome = Outcome(False, error=f"{exc.__class__.__name__}: {exc}"[:500])
        _record(mail, worker, outcome, int((time.monotonic() - started) * 1000))
        attempted += 1
    return attempted


def _default_worker_name() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


# --- reading (operator page) -------------------------------------------------------------------

def recent(*, status: str | None = None, limit: int = 100) -> list[OutboxMail]:
    """The newest mails, optionally of one status (operator page)."""
    query = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMail.status == status)
    return list(db.session.scalars(query))


def counts() -> dict[str, int]:
    """How many mails are queued, sent and failed."""
    from sqlalchemy import func

    rows = db.session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status))
    found = {status: count for status, count in rows}
    return {key: found.get(key, 0) for key in (MAIL_QUEUED, MAIL_SENT, MAIL_FAILED)}


def deliveries(mail_id: int) -> list[MailDelivery]:
    """The delivery log of one mail, oldest first."""
    return list(db.session.scalars(select(MailDelivery).where(MailDelivery.mail_id == mail_id)
                                   .order_by(MailDelivery.id)))


def get(mail_id: int) -> OutboxMail | None:
    return db.session.get(OutboxMail, mail_id)
