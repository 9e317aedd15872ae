"""The only module institution plugins import from core.

Everything here is a stable, documented surface (see docs/plugins.md): the ``hookimpl`` marker,
the ``Institution`` base class plugins subclass, the value types an institution declares
(``LoanProduct``, ``Setting``, ``ClientField``) or answers (``Eligibility`` for ``ReferralFacts``,
``Reason``), and the small value types hooks return. Core validates every declaration at startup.
Anything not re-exported here is core's internal business and may change without notice.
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Callable, ClassVar, Mapping

import pluggy
from stdnum.be import vat as be_vat
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext, ngettext

from core.geo import Region, is_german_speaking, province_for_postal_code, region_for_postal_code
from core.access import public, roles_required

hookimpl = pluggy.HookimplMarker("microfin")

LANGUAGES = ("nl", "fr", "en")

__all__ = [
    "_",  # gettext, lazy_gettext and ngettext: a plugin's own strings, in its catalogue
    "_l",
    "ngettext",
    "settings_now",
    "field_values",
    "save_field_values",
    "records_where",
    "fields_form",
    "ClientPanel",
    "ClientField",
    "Eligibility",
    "Event",
    "Evidence",
    "EvidenceContext",
    "EvidenceProvider",
    "Institution",
    "LANGUAGES",
    "LoanField",
    "LoanProduct",
    "Localized",
    "MENU_AREAS",
    "MenuItem",
    "Office",
    "PostalArea",
    "PURPOSES",
    "REPAYMENT_METHODS",
    "Reason",
    "ReferralFacts",
    "SECTORS",
    "Setting",
    "Stage",
    "TimelineEntry",
    "Region",
    "hookimpl",
    "is_german_speaking",
    "language_requirement",
    "prepayment_indemnity_setting",
    "MAX_PREPAYMENT_INDEMNITY_MONTHS",
    "late_notice_setting",
    "followup_months_setting",
    "retention_setting",
    "province_for_postal_code",
    "public",
    "region_for_postal_code",
    "roles_required",
    "texts",
]


def texts(en: str, nl: str, fr: str) -> dict[str, str]:
    """A plugin's own text in the three languages: ``{"en": …, "nl": …, "fr": …}``."""
    return {"en": en, "nl": nl, "fr": fr}


class Localized:
    """A plugin's text that shows in the language of the current page (a menu label, say).

    Plugins keep their own texts (``texts(en, nl, fr)``) rather than core's message catalogue.
    """

    def __init__(self, by_language: Mapping[str, str]):
        self.by_language = dict(by_language)

    def __str__(self) -> str:
        from flask_babel import get_locale

        language = str(get_locale() or "en")
        return self.by_language.get(language) or self.by_language.get("en", "")

    def __html__(self):
        from markupsafe import escape

        return escape(str(self))


@dataclass(frozen=True)
class Office:
    """A place where an institution meets entrepreneurs."""

    city: str
    postal_code: str
    head_office: bool = False
    kind: str = "office"  # "office", "desk" (a part-time permanence) or "phone"


# --- the coded need of an applicant ---------------------------------------------------------

class Stage(StrEnum):
    """Where the applicant's business stands (DOMAIN.md: the referral's coded need)."""

    PROJECT = "project"          # not started yet
    STARTER = "starter"          # trading for less than a year
    ESTABLISHED = "established"  # trading for a year or more


#: Sectors of the impact report (DOMAIN.md).
SECTORS = ("horeca", "retail", "services", "care", "transport", "construction", "other")
#: What the money is for. ``refinancing`` pays off other debt.
PURPOSES = ("investment", "working_capital", "refinancing")
#: How a loan is repaid: equal instalments, equal principal parts, or flat interest on the amount.
REPAYMENT_METHODS = ("annuity", "equal_principal", "flat")

CENT = Decimal("0.01")


def _decimal(value: Any, name: str) -> Decimal:
    """``value`` as a Decimal; floats are refused (money and rates never pass through one)."""
    if isinstance(value, float):
        raise TypeError(f"{name} must be a Decimal, not a float")
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Reason:
    """Why an application or a referral does not fit: a stable ``code`` for programs, a
    translatable ``message`` for people, and the ``field`` it concerns (when there is one)."""

    code: str
    message: Any = field(compare=False)  # a lazy text: two reasons are equal by code and field
    field: str = ""


@dataclass(frozen=True)
class ReferralFacts:
    """What an institution needs to know to answer a referral (DOMAIN.md, the referral registry).

    Every fact may be unknown (None); an institution that needs one answers ``needs_info``.
    """

    postal_code: str | None = None
    language: str | None = None
    amount: Decimal | None = None
    stage: Stage | None = None
    sector: str | None = None
    purpose: str | None = None
    enterprise_age_months: int | None = None
    collective_debt_settlement: bool | None = None
    undischarged_bankruptcy: bool | None = None
    #: The term the applicant asks for, in months (optional).
    term_months: int | None = None

    def __post_init__(self):
        if self.amount is not None:
            object.__setattr__(self, "amount", _decimal(self.amount, "amount"))
        if self.stage is not None:
            object.__setattr__(self, "stage", Stage(self.stage))
        if self.sector is not None and self.sector not in SECTORS:
            raise ValueError(f"sector {self.sector!r} is not one of {', '.join(SECTORS)}")
        if self.purpose is not None and self.purpose not in PURPOSES:
            raise ValueError(f"purpose {self.purpose!r} is not one of {', '.join(PURPOSES)}")
        if self.language is not None and self.language not in (*LANGUAGES, "de"):
            raise ValueError(f"language {self.language!r} is not one of nl, fr, en, de")

    @property
    def region(self) -> Region | None:
        return region_for_postal_code(self.postal_code) if self.postal_code else None


@dataclass(frozen=True)
class Eligibility:
    """An institution's answer to a referral: accept, decline (with a reason), or needs_info
    (naming the ``ReferralFacts`` fields it lacks). Build one with the class methods."""

    outcome: str  # "accept", "decline" or "needs_info"
    reason: Reason | None = None
    fields: tuple[str, ...] = ()

    ACCEPT: ClassVar[str] = "accept"
    DECLINE: ClassVar[str] = "decline"
    NEEDS_INFO: ClassVar[str] = "needs_info"

    @classmethod
    def accept(cls) -> Eligibility:
        return cls(cls.ACCEPT)

    @classmethod
    def decline(cls, code: str, message: Any, field: str = "") -> Eligibility:
        return cls(cls.DECLINE, Reason(code, message, field))

    @classmethod
    def needs_info(cls, *fields: str) -> Eligibility:
        return cls(cls.NEEDS_INFO, Reason("needs_info", _l("More information is needed.")),
                   tuple(fields))

    @property
    def code(self) -> str:
        """``accept``, ``needs_info`` or the decline reason's code."""
        return self.reason.code if self.outcome == self.DECLINE else self.outcome


# --- products -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoanProduct:
    """A loan an institution offers, with the rules an application must meet.

    Amounts are EUR ``Decimal``; ``annual_rate`` is the nominal yearly rate in percent;
    shares (``honour_loan_cap``, ``own_contribution_min_share``) are fractions (``Decimal("0.03")``).
    """

    code: str
    names: Mapping[str, str]
    min_amount: Decimal
    max_amount: Decimal
    min_term_months: int
    max_term_months: int
    annual_rate: Decimal
    repayment_method: str = "annuity"
    #: One-off file fee in EUR.
    fees: Decimal = Decimal("0")
    #: Stages of business the product is for.
    stages: frozenset[Stage] = frozenset(Stage)
    #: Age of the enterprise in months: at least / below (None: no bound).
    min_enterprise_age_months: int | None = None
    max_enterprise_age_months: int | None = None
    #: Amounts above ``large_amount_threshold`` need an enterprise at least this old.
    large_amount_threshold: Decimal | None = None
    large_amount_min_age_months: int = 12
    #: Purposes the money may serve.
    purposes: frozenset[str] = frozenset(PURPOSES)
    #: An interest-free honour loan on top: allowed, its cap as a fraction of the microloan, and
    #: its longest repayment holiday.
    honour_loan_allowed: bool = False
    honour_loan_cap: Decimal = Decimal("0")
    honour_loan_max_deferral_months: int = 0
    #: Longest grace period (months without principal repayments) at the start; 0: none.
    grace_period_max_months: int = 0
    guarantor_required: bool = False
    guarantees_allowed: bool = True
    #: The applicant's own money, as a share of the amount borrowed.
    own_contribution_min_share: Decimal = Decimal("0")
    #: An enterprise number (KBO/BCE) must be known before the money is paid out.
    enterprise_number_before_disbursement: bool = False
    #: Early-repayment (reinvestment) indemnity on the capital repaid early: a number of months of
    #: interest at the loan's rate, **or** a percentage of that capital; default none. Whatever is
    #: declared, core caps it at six months' interest on the capital repaid early (Belgian SME
    #: financing law of 21 December 2013, art. 1907bis of the Civil Code; see docs/lending.md).
    prepayment_indemnity_months: Decimal = Decimal("0")
    prepayment_indemnity_percent: Decimal = Decimal("0")

    def __post_init__(self):
        for name in ("min_amount", "max_amount", "annual_rate", "fees", "honour_loan_cap",
                     "own_contribution_min_share", "large_amount_threshold", "prepayment_indemnity_months",
                     "prepayment_indemnity_percent"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _decimal(value, f"{self.code}: {name}"))
        object.__setattr__(self, "stages", frozenset(Stage(s) for s in self.stages))
        object.__setattr__(self, "purposes", frozenset(self.purposes))

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.code

    def problems(self) -> list[str]:
        """What is wrong with this product; core refuses to start a plugin whose product has any."""
        found = []
        code = self.code
        if not code or not code.replace("_", "").isalnum() or code != code.lower():
            found.append(f"product code {code!r} must be lowercase letters, digits and _")
        missing = [lang for lang in LANGUAGES if not self.names.get(lang)]
        if missing:
            found.append(f"product {code}: names missing for {', '.join(missing)}")
        if self.min_amount <= 0:
            found.append(f"product {code}: min_amount must be positive")
        if self.min_amount > self.max_amount:
            found.append(f"product {code}: min_amount {self.min_amount} is above max_amount {self.max_amount}")
        if not 1 <= self.min_term_months <= self.max_term_months:
            found.append(f"product {code}: term range {self.min_term_months}-{self.max_term_months} "
                         "months must satisfy 1 <= min <= max")
        if not Decimal("0") <= self.annual_rate < Decimal("100"):
            found.append(f"product {code}: annual_rate {self.annual_rate} must be a percentage in [0, 100)")
        if self.repayment_method not in REPAYMENT_METHODS:
            found.append(f"product {code}: repayment_method {self.repayment_method!r} is not one of "
                         + ", ".join(REPAYMENT_METHODS))
        if self.fees < 0:
            found.append(f"product {code}: fees must not be negative")
        if not self.stages:
            found.append(f"product {code}: stages must not be empty")
        if not self.purposes or not self.purposes <= set(PURPOSES):
            found.append(f"product {code}: purposes must be a non-empty subset of {', '.join(PURPOSES)}")
        if not Decimal("0") <= self.honour_loan_cap <= Decimal("1"):
            found.append(f"product {code}: honour_loan_cap must be a fraction between 0 and 1")
        if self.honour_loan_allowed and self.honour_loan_cap == 0:
            found.append(f"product {code}: an honour loan is allowed but its cap is 0")
        if not Decimal("0") <= self.own_contribution_min_share <= Decimal("1"):
            found.append(f"product {code}: own_contribution_min_share must be a fraction between 0 and 1")
        if self.guarantor_required and not self.guarantees_allowed:
            found.append(f"product {code}: a guarantor is required but guarantees are not allowed")
        if min(self.honour_loan_max_deferral_months, self.grace_period_max_months) < 0:
            found.append(f"product {code}: deferral and grace periods must not be negative")
        if not Decimal("0") <= self.prepayment_indemnity_months <= MAX_PREPAYMENT_INDEMNITY_MONTHS:
            found.append(f"product {code}: prepayment_indemnity_months must be between 0 and "
                         f"{MAX_PREPAYMENT_INDEMNITY_MONTHS} (the legal maximum is six months' interest)")
        if not Decimal("0") <= self.prepayment_indemnity_percent <= Decimal("100"):
            found.append(f"product {code}: prepayment_indemnity_percent must be a percentage in [0, 100]")
        if self.prepayment_indemnity_months and self.prepayment_indemnity_percent:
            found.append(f"product {code}: declare the prepayment indemnity in months of interest or as a "
                         "percentage, not both")
        return found

    def check_application(self, *, amount: Decimal, term_months: int,
                          enterprise_age_months: int | None = None, purpose: str | None = None,
                          honour_loan: Decimal = Decimal("0"), own_contribution: Decimal = Decimal("0"),
                          grace_months: int = 0, honour_loan_deferral_months: int = 0) -> list[Reason]:
        """The reasons an application breaks this product's rules (empty: it fits). Pure.

        ``enterprise_age_months`` None means a project not yet trading (age 0).
        """
        amount = _decimal(amount, "amount")
        honour_loan = _decimal(honour_loan, "honour_loan")
        own_contribution = _decimal(own_contribution, "own_contribution")
        age = enterprise_age_months or 0
        reasons = self._amount_reasons(amount, age) + self._term_reasons(term_months, grace_months)
        reasons += self._enterprise_reasons(age, purpose)
        reasons += self._honour_loan_reasons(amount, honour_loan, honour_loan_deferral_months)
        minimum = (amount * self.own_contribution_min_share).quantize(CENT, ROUND_HALF_UP)
        if own_contribution < minimum:
            reasons.append(Reason("own_contribution_too_low", _l(
                "The own contribution must be at least %(minimum)s EUR (%(share)s%% of the amount).",
                minimum=minimum, share=_percent(self.own_contribution_min_share)), "own_contribution"))
        return reasons

    def _amount_reasons(self, amount: Decimal, age: int) -> list[Reason]:
        if amount < self.min_amount:
            return [Reason("amount_too_low", _l("The amount must be at least %(amount)s EUR.",
                                                amount=self.min_amount), "amount")]
        if amount > self.max_amount:
            return [Reason("amount_too_high", _l("The amount may not exceed %(amount)s EUR.",
                                                 amount=self.max_amount), "amount")]
        threshold = self.large_amount_threshold
        if threshold is not None and amount > threshold and age < self.large_amount_min_age_months:
            return [Reason("amount_needs_older_enterprise", lazy_ngettext(
                "Above %(amount)s EUR, the enterprise must be at least %(num)s month old.",
                "Above %(amount)s EUR, the enterprise must be at least %(num)s months old.",
                self.large_amount_min_age_months, amount=threshold), "amount")]
        return []

    def _term_reasons(self, term_months: int, grace_months: int) -> list[Reason]:
        reasons = []
        if not self.min_term_months <= term_months <= self.max_term_months:
            reasons.append(Reason("term_out_of_range", lazy_ngettext(
                "The term must be between %(low)s and %(num)s month.",
                "The term must be between %(low)s and %(num)s months.",
                self.max_term_months, low=self.min_term_months), "term_months"))
        if grace_months > self.grace_period_max_months:
            reasons.append(Reason("grace_period_too_long", lazy_ngettext(
                "The grace period may not exceed %(num)s month.",
                "The grace period may not exceed %(num)s months.",
                self.grace_period_max_months), "grace_months"))
        return reasons

    def _enterprise_reasons(self, age: int, purpose: str | None) -> list[Reason]:
        reasons = []
        if self.min_enterprise_age_months is not None and age < self.min_enterprise_age_months:
            reasons.append(Reason("enterprise_too_young", lazy_ngettext(
                "This product is for enterprises at least %(num)s month old.",
                "This product is for enterprises at least %(num)s months old.",
                self.min_enterprise_age_months), "enterprise_age_months"))
        if self.max_enterprise_age_months is not None and age >= self.max_enterprise_age_months:
            reasons.append(Reason("enterprise_too_old", lazy_ngettext(
                "This product is for enterprises younger than %(num)s month.",
                "This product is for enterprises younger than %(num)s months.",
                self.max_enterprise_age_months), "enterprise_age_months"))
        if purpose is not None and purpose not in self.purposes:
            reasons.append(Reason("purpose_not_financed", _l(
                "This product does not finance this purpose."), "purpose"))
        return reasons

    def _honour_loan_reasons(self, amount: Decimal, honour_loan: Decimal, deferral: int) -> list[Reason]:
        if honour_loan <= 0:
            return []
        if not self.honour_loan_allowed:
            return [Reason("honour_loan_not_offered", _l("This product has no honour loan."),
                           "honour_loan")]
        reasons = []
        cap = (amount * self.honour_loan_cap).quantize(CENT, ROUND_HALF_UP)
        if honour_loan > cap:
            reasons.append(Reason("honour_loan_too_high", _l(
                "The honour loan may not exceed %(amount)s EUR.", amount=cap), "honour_loan"))
        if deferral > self.honour_loan_max_deferral_months:
            reasons.append(Reason("honour_loan_deferral_too_long", lazy_ngettext(
                "The honour loan's repayment holiday may not exceed %(num)s month.",
                "The honour loan's repayment holiday may not exceed %(num)s months.",
                self.honour_loan_max_deferral_months), "honour_loan_deferral_months"))
        return reasons


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}"


# --- declared settings and client fields ----------------------------------------------------

TYPES = ("int", "decimal", "bool", "str", "choice")


@dataclass(frozen=True)
class _Typed:
    """What settings and client fields share: a typed value with labels and a parser."""

    key: str
    type: str
    labels: Mapping[str, str]
    choices: tuple[str, ...] = ()
    #: Labels of the choices: ``{choice: {"nl": …, "fr": …, "en": …}}`` (default: the choice).
    choice_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or self.key

    def choice_label(self, choice: str, language: str) -> str:
        labels = self.choice_labels.get(choice, {})
        return labels.get(language) or labels.get("en") or choice

    def parse(self, raw: Any) -> Any:
        """The typed value of ``raw`` (a form's text, or a stored JSON value).

        Raises ``ValueError`` whose message is translatable and fit to show next to the field.
        """
        if self.type == "bool":
            return _parse_bool(raw)
        text = "" if raw is None else str(raw).strip()
        if self.type == "str":
            return text
        if self.type == "choice":
            if text not in self.choices:
                raise ValueError(_l("Choose one of the options."))
            return text
        if self.type == "int":
            value = _parse_int(raw, text)
        else:
            value = _parse_decimal(raw, text)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(_l("Enter %(minimum)s or more.", minimum=self.minimum))
        if self.maximum is not None and value > self.maximum:
            raise ValueError(_l("Enter %(maximum)s or less.", maximum=self.maximum))
        return value

    def to_json(self, value: Any) -> Any:
        """The value as stored in a JSON column (a Decimal as its exact text)."""
        return str(value) if self.type == "decimal" else value

    def _problems(self, what: str) -> list[str]:
        found = []
        if not self.key.isidentifier() or self.key != self.key.lower():
            found.append(f"{what} key {self.key!r} must be a lowercase identifier")
        if self.type not in TYPES:
            found.append(f"{what} {self.key}: type {self.type!r} is not one of {', '.join(TYPES)}")
        missing = [lang for lang in LANGUAGES if not self.labels.get(lang)]
        if missing:
            found.append(f"{what} {self.key}: labels missing for {', '.join(missing)}")
        if self.type == "choice" and not self.choices:
            found.append(f"{what} {self.key}: a choice needs choices")
        return found


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = "" if raw is None else str(raw).strip().lower()
    if text in ("1", "true", "y", "yes", "on"):
        return True
    if text in ("", "0", "false", "n", "no", "off"):
        return False
    raise ValueError(_l("Answer yes or no."))


def _parse_int(raw: Any, text: str) -> int:
    if isinstance(raw, bool) or isinstance(raw, float):
        raise ValueError(_l("Enter a whole number."))
    if isinstance(raw, int):
        return raw
    try:
        return int(text)
    except ValueError:
        raise ValueError(_l("Enter a whole number.")) from None


def _parse_decimal(raw: Any, text: str) -> Decimal:
    if isinstance(raw, bool) or isinstance(raw, float):
        raise ValueError(_l("Enter a number, such as 12.5."))
    try:
        value = Decimal(text.replace(",", ".")) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        raise ValueError(_l("Enter a number, such as 12.5.")) from None
    if not value.is_finite():
        raise ValueError(_l("Enter a number, such as 12.5."))
    return value


@dataclass(frozen=True)
class Setting(_Typed):
    """A figure or switch of an institution, editable by its admin; ``default`` applies until
    the admin saves another value. Declare them in ``Institution.settings()``."""

    default: Any = None
    help: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = self._problems("setting")
        if found:
            return found
        try:
            parsed = self.parse(self.default)
        except ValueError as exc:
            return [f"setting {self.key}: default {self.default!r} is invalid: {exc}"]
        if type(parsed) is not type(self.default) and not (self.type == "str"
                                                           and isinstance(self.default, str)):
            found.append(f"setting {self.key}: default {self.default!r} is not of type {self.type}")
        return found

    def help_text(self, language: str) -> str:
        return self.help.get(language) or self.help.get("en", "")


@dataclass(frozen=True)
class ClientField(_Typed):
    """An extra field an institution records on its clients (core stores it by client id).

    ``is_sensitive`` values (health, origin…) are hidden from the audit trail and shown only to
    the institution's staff with a need to know.
    """

    is_sensitive: bool = False
    required: bool = False

    def problems(self) -> list[str]:
        return self._problems("client field")


@dataclass(frozen=True)
class LoanField(ClientField):
    """An extra field an institution records on its loans (core stores it by loan id)."""

    def problems(self) -> list[str]:
        return self._problems("loan field")


def _duplicates(kind: str, keys: list[str]) -> list[str]:
    return [f"{kind} {key!r} is declared twice" for key in sorted(set(keys)) if keys.count(key) > 1]


class Institution:
    """An institution's profile and behaviour: the strategy object core calls for its tenant.

    Subclass it in your plugin and return an instance from ``register_institutions``. Core only
    ever calls the instance of the current tenant, so one institution's code never answers for
    another.
    """

    #: Short, stable, lowercase identifier; also the plugin's blueprint name and table prefix.
    slug: ClassVar[str] = ""
    #: Display names in nl, fr and en.
    names: ClassVar[Mapping[str, str]] = {}
    #: Regions the institution serves.
    regions: ClassVar[frozenset[Region]] = frozenset()
    #: Languages in which the institution serves clients, in order of preference.
    languages: ClassVar[tuple[str, ...]] = ()
    #: Where it meets clients.
    offices: ClassVar[tuple[Office, ...]] = ()
    #: Legal form and a line on who it is, in nl, fr and en.
    descriptions: ClassVar[Mapping[str, str]] = {}
    #: Website, shown on the institution's profile.
    website: ClassVar[str] = ""
    #: The lender as its contracts name it (optional; the display name when empty): the registered
    #: name with its legal form, the registered office on one line, and the KBO/BCE enterprise
    #: number (10 digits, checked at startup). The loan offer prints them.
    legal_name: ClassVar[str] = ""
    address: ClassVar[str] = ""
    enterprise_number: ClassVar[str] = ""

    def name(self, language: str) -> str:
        """The display name in ``language``, falling back to English, then to the slug."""
        return self.names.get(language) or self.names.get("en") or self.slug

    def description(self, language: str) -> str:
        """The one-line description in ``language`` (English as fallback)."""
        return self.descriptions.get(language) or self.descriptions.get("en", "")

    def serves_postal_code(self, postal_code: str) -> bool:
        """True when the postal code lies in a region the institution serves."""
        return region_for_postal_code(postal_code) in self.regions

    def problems(self) -> list[str]:
        """What is wrong with this profile; core refuses to start a plugin with problems."""
        found = []
        if not self.slug or not self.slug.isidentifier() or self.slug != self.slug.lower():
            found.append(f"slug {self.slug!r} must be a lowercase Python identifier")
        missing = [lang for lang in LANGUAGES if not self.names.get(lang)]
        if missing:
            found.append(f"names missing for {', '.join(missing)}")
        if not self.regions or not all(isinstance(r, Region) for r in self.regions):
            found.append("regions must be a non-empty set of Region values")
        if not self.languages or any(lang not in (*LANGUAGES, "de") for lang in self.languages):
            found.append("languages must be a non-empty tuple of nl, fr, en, de")
        if self.enterprise_number and not be_vat.is_valid(self.enterprise_number):
            found.append(f"enterprise_number {self.enterprise_number!r} is not a valid KBO/BCE number")
        return found + self._declaration_problems()

    def _declaration_problems(self) -> list[str]:
        try:
            declared = (("setting", Setting, list(self.settings())),
                        ("client field", ClientField, list(self.client_fields())),
                        ("loan field", LoanField, list(self.loan_fields())))
        except Exception as exc:  # a plugin bug, reported with its name by core
            return [f"settings(), client_fields() or loan_fields() failed: {type(exc).__name__}: {exc}"]
        found = []
        for kind, expected, items in declared:
            if not all(isinstance(item, expected) for item in items):
                found.append(f"{kind}s must be {expected.__name__} objects")
                continue
            found += _duplicates(kind, [item.key for item in items])
            found += [problem for item in items for problem in item.problems()]
        if found:
            return found  # products read the settings: check those first
        try:
            products = list(self.products(self.default_settings()))
        except Exception as exc:  # a plugin bug, reported with its name by core
            return [f"products() failed with the default settings: {type(exc).__name__}: {exc}"]
        if not all(isinstance(product, LoanProduct) for product in products):
            return ["products() must return LoanProduct objects"]
        found += _duplicates("product", [product.code for product in products])
        return found + [problem for product in products for problem in product.problems()]

    # --- declarations: override these -----------------------------------------------------

    #: The ``ReferralFacts`` fields ``assess_referral`` needs before it can answer.
    referral_facts_needed: ClassVar[tuple[str, ...]] = ("postal_code", "language", "amount", "stage",
                                                        "sector")

    def settings(self) -> list[Setting]:
        """The settings the institution's admin may change (default: none)."""
        return []

    def client_fields(self) -> list[ClientField]:
        """Extra fields recorded on this institution's clients (default: none)."""
        return []

    def loan_fields(self) -> list[LoanField]:
        """Extra fields recorded on this institution's loans (default: none)."""
        return []

    def products(self, settings: Mapping[str, Any]) -> list[LoanProduct]:
        """The loans offered, built from the effective ``settings`` (default: none)."""
        return []

    def assess_referral(self, referral: ReferralFacts,
                        settings: Mapping[str, Any] | None = None) -> Eligibility:
        """Whether a referred applicant fits: pure, from the facts and the settings alone.

        The default, in this order: (1) the hard facts the referral states: region, language only
        when the ``referral_language_required`` setting is on (else it is a ranking preference),
        stage (or the enterprise's age, judged by each product's own age bounds), term, purpose and
        amount — any one of them that no product meets declines at once; (2) only then the missing
        ``referral_facts_needed``: ``needs_info`` names a missing fact only if one of its possible
        values would turn this accept into a decline. The exclusion flags
        (``REFERRAL_EXCLUSION_FLAGS``) decline when the referral states them; when it does not, they
        are checked at first contact and never delay routing. Override it to add the institution's
        exclusions, and call ``super().assess_referral(referral, settings)``.
        """
        values = self.setting_values(settings)
        if referral.postal_code is not None:
            region = referral.region
            if region is None:
                return Eligibility.decline("postal_code_unknown",
                                           _l("This is not a Belgian postal code."), "postal_code")
            if region not in self.regions_served(settings):
                return Eligibility.decline("region_not_served",
                                           _l("The institution does not serve this region."),
                                           "postal_code")
        if (referral.language is not None and values.get("referral_language_required")
                and referral.language not in self.languages):
            return Eligibility.decline("language_not_served",
                                       _l("The institution does not serve clients in this language."),
                                       "language")
        answer = self._assess_products(referral, values)
        if answer.outcome != Eligibility.ACCEPT or _PROBING.get():
            return answer
        missing = self._facts_that_could_decline(referral, settings)
        return Eligibility.needs_info(*missing) if missing else answer

    def _facts_that_could_decline(self, referral: ReferralFacts, settings) -> list[str]:
        """The missing needed facts of which some value would make this institution decline."""
        found = []
        for name in self.referral_facts_needed:
            if getattr(referral, name) is not None or name in REFERRAL_EXCLUSION_FLAGS:
                continue
            candidates = _FACT_CANDIDATES.get(name)
            if candidates is None:  # a postal code or an amount: cannot be guessed
                found.append(name)
                continue
            token = _PROBING.set(True)
            try:
                if any(self.assess_referral(replace(referral, **{name: value}), settings).outcome
                       == Eligibility.DECLINE for value in candidates):
                    found.append(name)
            finally:
                _PROBING.reset(token)
        return found

    # --- helpers --------------------------------------------------------------------------

    def regions_served(self, settings: Mapping[str, Any] | None = None) -> frozenset[Region]:
        """The regions served under ``settings`` (default: ``regions``); override when a
        setting widens them."""
        return self.regions

    def default_settings(self) -> dict[str, Any]:
        """Every declared setting at its default value."""
        return {setting.key: setting.default for setting in self.settings()}

    def setting_values(self, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        """The defaults overlaid with ``settings`` (as given by core: stored values)."""
        return {**self.default_settings(), **(settings or {})}

    def product(self, code: str, settings: Mapping[str, Any] | None = None) -> LoanProduct | None:
        """The product with this code, under ``settings`` (default: the defaults)."""
        return next((p for p in self.products(self.setting_values(settings)) if p.code == code), None)

    def _assess_products(self, referral: ReferralFacts, settings: Mapping[str, Any]) -> Eligibility:
        products = self.products(settings)
        if not products:
            return Eligibility.accept()
        age = referral.enterprise_age_months
        if referral.stage is not None:
            products = [p for p in products if _fits_stage(p, referral.stage, age)]
            if not products:
                return Eligibility.decline("stage_not_served",
                                           _l("No product of the institution fits this stage."), "stage")
        if referral.term_months is not None:
            products = [p for p in products if p.min_term_months <= referral.term_months <= p.max_term_months]
            if not products:
                return Eligibility.decline("term_out_of_range",
                                           _l("No product of the institution has this term."), "term_months")
        if referral.purpose is not None:
            products = [p for p in products if referral.purpose in p.purposes]
            if not products:
                return Eligibility.decline("purpose_not_financed",
                                           _l("The institution does not finance this purpose."), "purpose")
        if referral.amount is None:
            return Eligibility.accept()
        if age is None:
            age = 12 if referral.stage == Stage.ESTABLISHED else 0
        reasons = [p._amount_reasons(referral.amount, age) for p in products]
        if any(not r for r in reasons):
            return Eligibility.accept()
        first = reasons[0][0]
        return Eligibility.decline(first.code, first.message, "amount")


#: Facts a referral states only when known; the institution checks them at first contact otherwise.
REFERRAL_EXCLUSION_FLAGS = ("collective_debt_settlement", "undischarged_bankruptcy")
#: The values a missing fact is tried with, to see whether it could turn an accept into a decline.
_FACT_CANDIDATES: dict[str, tuple] = {
    "purpose": PURPOSES, "sector": SECTORS, "stage": tuple(Stage), "language": (*LANGUAGES, "de"),
}
_PROBING: ContextVar[bool] = ContextVar("microfin_referral_probing", default=False)


def _fits_stage(product: LoanProduct, stage: Stage, age: int | None) -> bool:
    """A known enterprise age is judged by the product's own age bounds (each institution's own
    idea of a "starter"); otherwise the stage the referrer gives."""
    bounded = product.min_enterprise_age_months is not None or product.max_enterprise_age_months is not None
    if age is not None and stage != Stage.PROJECT and bounded:
        return ((product.min_enterprise_age_months is None or age >= product.min_enterprise_age_months)
                and (product.max_enterprise_age_months is None or age < product.max_enterprise_age_months))
    return stage in product.stages


#: The legal cap on an early-repayment indemnity for business credit: six months' interest on the
#: capital repaid early (SME financing law of 21 December 2013, art. 1907bis Civil Code).
MAX_PREPAYMENT_INDEMNITY_MONTHS = Decimal("6")


def prepayment_indemnity_setting() -> Setting:
    """The setting of an early-repayment indemnity in months of interest (default 0: none, at most
    the legal six). Add it to ``Institution.settings()`` and pass its value to each product's
    ``prepayment_indemnity_months``."""
    return Setting("prepayment_indemnity_months", "decimal",
                   texts("Early repayment: indemnity in months of interest (0 = none, at most 6)",
                         "Vervroegde terugbetaling: wederbeleggingsvergoeding in maanden rente (0 = geen, hoogstens 6)",
                         "Remboursement anticipé : indemnité de remploi en mois d'intérêts (0 = aucune, 6 au plus)"),
                   default=Decimal("0"), minimum=Decimal("0"), maximum=MAX_PREPAYMENT_INDEMNITY_MONTHS)


def language_requirement() -> Setting:
    """The setting that makes the applicant's language a requirement (off: a ranking preference).
    Add it to ``Institution.settings()`` to let the institution's admin choose."""
    return Setting("referral_language_required", "bool",
                   texts("Only take referrals in a language the institution serves",
                         "Alleen doorverwijzingen aannemen in een taal die de instelling bedient",
                         "N'accepter que les orientations dans une langue servie par l'institution"),
                   default=False)


def late_notice_setting(default: int = 7) -> Setting:
    """The setting of how many days late an instalment must be before the loan's officer and the
    client's coach are notified (``late_notice_days``; core uses 7 when it is not declared). Add it
    to ``Institution.settings()`` to let the institution's admin choose."""
    return Setting("late_notice_days", "int",
                   texts("Notify of an instalment more than this many days late",
                         "Melden wanneer een aflossing meer dan zoveel dagen achterstaat",
                         "Signaler une échéance en retard de plus de ce nombre de jours"),
                   default=default, minimum=1, maximum=365)


def retention_setting(default: int = 10) -> Setting:
    """The setting of how many years a client's loan records are kept after the last repayment
    (``retention_years``; core uses 10 when it is not declared): before, a client's data can only be
    pseudonymised; after, the worker erases it (``core.services.erasure``). Add it to
    ``Institution.settings()`` to let the institution's admin choose."""
    return Setting("retention_years", "int",
                   texts("Keep loan records this many years after the last repayment",
                         "Kredietdossiers zoveel jaar na de laatste terugbetaling bewaren",
                         "Conserver les dossiers de crédit ce nombre d'années après le dernier remboursement"),
                   default=default, minimum=1, maximum=30)


FOLLOWUP_MONTHS_CHOICES = ("6,12,24,36", "12,24,36", "6,12,24,36,48", "12,24,36,48,60")


def followup_months_setting(default: str = "6,12,24,36") -> Setting:
    """The setting of when financed entrepreneurs are followed up, in months after their first
    disbursement (``followup_months``; core uses 6, 12, 24 and 36 when it is not declared). Add it
    to ``Institution.settings()`` to let the institution's admin choose."""
    return Setting("followup_months", "choice",
                   texts("Follow-ups: months after the first disbursement",
                         "Opvolging: maanden na de eerste uitbetaling",
                         "Suivis : mois après le premier décaissement"),
                   choices=FOLLOWUP_MONTHS_CHOICES, default=default,
                   choice_labels={choice: texts(choice.replace(",", ", "), choice.replace(",", ", "),
                                                choice.replace(",", ", ")) for choice in FOLLOWUP_MONTHS_CHOICES})


# The menu's areas, in the order the menu shows them; a MenuItem names one as its ``area``.
# The first has no heading (the starting page and the user's own account).
MENU_AREAS: tuple[tuple[str, Any], ...] = (
    ("general", None),
    ("clients", _l("Clients and coaching")),
    ("lending", _l("Loans")),
    ("portal", _l("Referrals")),
    ("reports", _l("Reports")),
    ("sector", _l("Sector-wide")),
    ("operations", _l("Running the server")),
    ("administration", _l("Administration")),
    ("more", _l("More")),
)


@dataclass(frozen=True)
class MenuItem:
    """An entry in the navigation, returned by ``menu_items``.

    ``label`` is a (lazily) translated string; ``endpoint`` a Flask endpoint name; ``roles`` the
    roles that see it (empty: every signed-in user); lower ``order`` comes first. ``area`` groups
    the entry in the menu: one of ``MENU_AREAS`` (``"clients"``, ``"lending"``, ...); an entry
    without one (or with an unknown one) goes under "More".
    """

    label: Any
    endpoint: str
    roles: frozenset[str] = frozenset()
    order: int = 100
    description: Any = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    area: str = ""


@dataclass(frozen=True)
class Event:
    """Something that happened, told to ``on_event`` after the change was committed.

    ``name`` is dotted (``user.created``); ``institution_id`` is the tenant it concerns, or None
    for sector-wide events; ``data`` holds ids and codes, never personal data.
    """

    name: str
    institution_id: int | None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientPanel:
    """A panel a plugin adds to the client page (``client_panels``).

    ``title`` is a translated string; ``html`` a ``markupsafe.Markup`` inserted as is, or a plain
    string that is escaped; lower ``order`` comes first.
    """

    title: Any
    html: Any
    order: int = 100


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a client, for the client page's timeline (``client_timeline``).

    ``at`` is a datetime (UTC) or a date (taken as midnight UTC); ``kind`` a short code, also the
    entry's CSS class (note, session, training, loan, referral …); ``title`` a translated string;
    ``url`` an optional link to the record.
    """

    at: Any  # datetime.datetime or datetime.date
    kind: str
    title: Any
    body: str = ""
    author: str = ""
    url: str | None = None

    @property
    def moment(self):
        """``at`` as an aware datetime, for sorting."""
        from datetime import datetime, time, timezone

        if isinstance(self.at, datetime):
            return self.at
        return datetime.combine(self.at, time.min, timezone.utc)


@dataclass(frozen=True)
class PostalArea:
    """The Belgian postal codes an institution serves, by province and/or by ranges of codes.

    ``provinces`` are the codes ``province_for_postal_code`` answers (``"BRU"``, ``"VAN"``,
    ``"VBR"``, ``"VLI"``, ``"VOV"``, ``"VWV"``, ``"WBR"``, ``"WHT"``, ``"WLG"``, ``"WLX"``,
    ``"WNA"``); ``ranges`` are ``(first, last)`` pairs of postal codes, both included. A postal code
    is in the area when it is in one of the provinces or one of the ranges::

        LIMBURG_AND_TONGEREN = PostalArea(provinces=("VLI",), ranges=((3700, 3799),))
        LIMBURG_AND_TONGEREN.contains("3500")  # True
    """

    provinces: tuple[str, ...] = ()
    ranges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self):
        known = {"BRU", "VAN", "VBR", "VLI", "VOV", "VWV", "WBR", "WHT", "WLG", "WLX", "WNA"}
        unknown = sorted(set(self.provinces) - known)
        if unknown:
            raise ValueError(f"unknown province code(s) {unknown}; use one of {sorted(known)}")
        for first, last in self.ranges:
            if not (1000 <= int(first) <= int(last) <= 9999):
                raise ValueError(f"a postal-code range runs from 1000 to 9999, first <= last: {(first, last)}")

    def contains(self, postal_code: str | int | None) -> bool:
        """True when ``postal_code`` (a Belgian postal code) lies in the area."""
        if postal_code is None or not str(postal_code).strip().isdigit():
            return False
        number = int(str(postal_code).strip())
        if any(int(first) <= number <= int(last) for first, last in self.ranges):
            return True
        return province_for_postal_code(number) in self.provinces


@dataclass(frozen=True)
class EvidenceContext:
    """What an automatic evidence provider is asked about: one institution, one period.

    The provider runs with tenant scoping set to ``institution_id``: its queries see only that
    institution's rows.
    """

    institution_id: int
    period_start: Any  # datetime.date, first day included
    period_end: Any  # datetime.date, last day included


@dataclass(frozen=True)
class Evidence:
    """What a provider found: a one-line ``summary`` (in English or translated lazily) and whether
    it supports the clause (``ok``: True, False, or None when it only informs)."""

    summary: Any
    ok: bool | None = None


@dataclass(frozen=True)
class EvidenceProvider:
    """Automatic evidence for a code-of-conduct clause, returned by ``register_compliance_evidence``.

    ``clause`` is the clause id ("5.4"); ``catalogue`` the catalogue code it refers to (None: any
    catalogue with that clause id); ``compute(context)`` returns an ``Evidence``, computed from the
    institution's own data for the period.
    """

    clause: str
    title: Any
    compute: Callable[[EvidenceContext], Evidence]
    catalogue: str | None = None


# --- what a plugin reads and writes at request time -------------------------------------------
# Doors onto core's services. Core hands the services in at startup (``provide``, called by
# core.plugin_loader), so that a plugin imports only this module and this module still imports
# nothing above the models and pure helpers.

_services: dict[str, Callable] = {}


def provide(**services: Callable) -> None:
    """Core's side: the service behind each door below (``settings``, ``client_fields``,
    ``loan_fields``, ``form_for``)."""
    _services.update(services)


def _service(name: str):
    try:
        return _services[name]
    except KeyError:
        raise RuntimeError(f"core has not started: no {name!r} service yet") from None


def settings_now() -> dict[str, Any]:
    """The current institution's effective settings: each stored value, else its default."""
    return _service("settings")()


def _declared(kind: str):
    if kind not in ("client", "loan"):
        raise ValueError(f"kind is 'client' or 'loan', not {kind!r}")
    return _service(f"{kind}_fields")


def field_values(kind: str, record_id: int) -> dict[str, Any]:
    """The typed values of the institution's extra fields (``kind`` "client" or "loan") of a record."""
    return _declared(kind).values_of(record_id)


def save_field_values(kind: str, record_id: int, raw: Mapping[str, Any], *, commit: bool = True) -> dict[str, Any]:
    """Parse and store the extra fields of a record (raises ``ValidationFailed`` naming the field)."""
    return _declared(kind).save(record_id, raw, commit=commit)


def records_where(kind: str, key: str, value: Any) -> list[int]:
    """Ids of the institution's records whose extra field ``key`` equals ``value`` (a list filter)."""
    return _declared(kind).ids_where(key, value)


def fields_form(declarations, values: dict[str, Any] | None = None, formdata=None, prefix: str = ""):
    """A Flask-WTF form (with CSRF) for ``Setting``/``ClientField``/``LoanField`` declarations."""
    return _service("form_for")(declarations, values, formdata=formdata, prefix=prefix)
