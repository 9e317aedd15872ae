"""Belgian identifiers, validated with python-stdnum, and the protection of national numbers.

The national register number is kept as an HMAC-SHA256 (for matching duplicates) and as a
Fernet token (to reveal it to roles that need it), both through ``core.services.data_keys``.
"""
from __future__ import annotations

import hashlib
import hmac

from stdnum import iban as std_iban
from stdnum.be import bis, nn, vat
from stdnum.be import iban as be_iban
from stdnum.exceptions import ValidationError

from core.services import data_keys


def clean_national_number(value: str) -> str:
    """The 11 digits of a valid national register or BIS number; ``ValueError`` otherwise."""
    try:
        return nn.validate(value)
    except ValidationError:
        try:
            return bis.validate(value)
        except ValidationError as exc:
            raise ValueError(str(exc)) from exc


def birth_date_in(number: str):
    """The birth date a (clean) national or BIS number encodes, or None when it holds none."""
    for module in (nn, bis):
        try:
            module.validate(number)
            return module.get_birth_date(number)
        except (ValidationError, ValueError):
            continue
    return None


def clean_enterprise_number(value: str) -> str:
    """The 10 digits of a valid KBO/BCE enterprise number; ``ValueError`` otherwise."""
    try:
        return vat.validate(value)
    except ValidationError as exc:
        raise ValueError(str(exc)) from exc


def clean_iban(value: str) -> str:
    """A valid IBAN, compact; Belgian ones are also checked against the bank-code table."""
    try:
        compact = std_iban.validate(value)
        if compact.startswith("BE"):
            compact = be_iban.validate(compact)
        return compact
    except ValidationError as exc:
        raise ValueError(str(exc)) from exc


def format_iban(value: str | None) -> str:
    return std_iban.format(value) if value else ""


def format_enterprise_number(value: str | None) -> str:
    return f"{value[:4]}.{value[4:7]}.{value[7:]}" if value else ""


def format_national_number(value: str) -> str:
    return nn.format(value)


def national_number_hash(number: str) -> str:
    """The keyed hash that finds a national number without storing it (the key survives rotation)."""
    return hmac.new(data_keys.match_key(), number.encode(), hashlib.sha256).hexdigest()


def encrypt(number: str) -> str:
    return data_keys.seal(data_keys.NATIONAL_NUMBER, number)


def decrypt(token: str) -> str:
    return data_keys.unseal(data_keys.NATIONAL_NUMBER, token)
