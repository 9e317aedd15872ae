"""E-mail addresses and phone numbers of clients and applicants, checked the same way everywhere.

E-mail addresses are checked by ``email-validator`` for their syntax only (no DNS lookup: the
application does not depend on the network to take a client's details) and stored normalised
(the domain in lower case). Phone numbers are parsed by ``phonenumbers`` with Belgium as the
default region (so ``0470 12 34 56`` is understood), refused unless valid, and stored in E.164
(``+32470123456``); they are shown in the national format for Belgian numbers and in the
international format for the others.
"""
from __future__ import annotations

import email_validator
import phonenumbers

DEFAULT_REGION = "BE"
MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 40


def clean_email(value: str) -> str:
    """A valid e-mail address, normalised; ``ValueError`` otherwise."""
    text = (value or "").strip()
    if not text or len(text) > MAX_EMAIL_LENGTH:
        raise ValueError("not an e-mail address")
    try:
        checked = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return checked.normalized


def clean_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """A valid phone number in E.164 (``+32470123456``); ``ValueError`` otherwise.

    A number without a country code is read as a number of ``region`` (Belgium by default)."""
    text = (value or "").strip()
    if not text or len(text) > MAX_PHONE_LENGTH:
        raise ValueError("not a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str | None, *, international: bool = False) -> str:
    """A stored number for reading: ``0470 12 34 56`` for a Belgian number, ``+33 6 12 34 56 78``
    for another country's (every number so with ``international``, as exports write them); a value
    that does not parse (stored before numbers were checked) is shown as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    style = (phonenumbers.PhoneNumberFormat.NATIONAL
             if not international and phonenumbers.region_code_for_number(number) == DEFAULT_REGION
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)
