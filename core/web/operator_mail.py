"""The operator's view of outgoing mail: what is queued, sent or failed, and why."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from core.access import roles_required
from core.models import ROLE_OPERATOR
from core.models.mail import MAIL_FAILED, MAIL_QUEUED, MAIL_SENT
from core.services import outbox
from core.web.rendering import render

bp = Blueprint("operator_mail", __name__, url_prefix="/operator")

STATUSES = (MAIL_QUEUED, MAIL_SENT, MAIL_FAILED)


@bp.route("/mail")
@roles_required(ROLE_OPERATOR)
def mail():
    status = request.args.get("status")
    status = status if status in STATUSES else None
    mails = outbox.recent(status=status, limit=100)
    return render("operator/mail.html", mails=mails, counts=outbox.counts(), status=status,
                  smtp_host=current_app.config.get("MICROFIN_SMTP_HOST"),
                  log={m.id: outbox.deliveries(m.id) for m in mails if m.attempts})
