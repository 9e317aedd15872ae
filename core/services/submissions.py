"""One-time submission tokens: a form that books money is booked once, however often it is sent.

Each form that books (payment, disbursement, reversal, write-off, recovery, prepayment, payoff) carries a random
token. ``book_once`` inserts the token into ``submission_tokens`` (unique) in the same transaction
as the booking: a second submit of the same form (a double click, a reload, ten parallel requests)
hits the unique key, its transaction is rolled back and it gets ``AlreadySubmitted``. Two
different forms (two officers paying the same instalment) carry two tokens: both are booked.
"""
from __future__ import annotations

import secrets
from typing import Callable, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import SubmissionToken
from core.services.errors import ValidationFailed
from core.tenancy import current_institution_id

T = TypeVar("T")
PURPOSES = ("payment", "disbursement", "reversal", "write_off", "recovery", "statement", "prepayment", "payoff")


class AlreadySubmitted(Exception):
    """This form was already sent and booked: nothing was booked this time."""


def new_token() -> str:
    """A fresh token for a form (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def _valid(token) -> bool:
    return isinstance(token, str) and 16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()


def book_once(token, *, purpose: str, loan, user, action: Callable[[], T]) -> T:
    """Run ``action`` (a service call that commits) with ``token`` inserted in its transaction.

    Raises ``AlreadySubmitted`` when the token was used before (nothing booked), and
    ``ValidationFailed`` when the form carries no token. Whatever ``action`` raises rolls back the
    token too, so the form can be corrected and sent again.
    """
    if not _valid(token):
        raise ValidationFailed({"": _l("The form expired: open the page again and send it again.")})
    db.session.add(SubmissionToken(token=token, purpose=purpose, loan_id=getattr(loan, "id", None),
                                   user_id=getattr(user, "id", None),
                                   institution_id=loan.institution_id if loan is not None else current_institution_id()))
    try:
        db.session.flush()
        return action()
    except IntegrityError:
        db.session.rollback()
        if used(token):
            raise AlreadySubmitted() from None
        raise
    except BaseException:
        db.session.rollback()
        raise


def used(token: str) -> bool:
    """Whether ``token`` was already used (in any institution: tokens are random)."""
    return db.session.scalar(select(SubmissionToken.id).where(SubmissionToken.token == token)) is not None
