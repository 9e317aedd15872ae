"""The JSON shapes of the referral API (pydantic). The same models validate requests and
generate the OpenAPI document, so the two cannot drift apart."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from core import clock
from core.geo import region_for_postal_code
from core.services import contact_details, identifiers

SECTORS = ("horeca", "retail", "services", "care", "transport", "construction", "other")
STAGES = ("project", "starter", "established")
LANGUAGES = ("nl", "fr", "en", "de")
CONSENT_SCOPES = ("share_with_mfi", "contact", "impact_survey")
PURPOSE_CATEGORIES = ("investment", "working_capital", "refinancing")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class Strict(BaseModel):
    """Unknown fields are refused, never stored (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_max_length=2000)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value):
        """A NUL character is never part of a name or a text (PostgreSQL cannot store it)."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if isinstance(value, list) and any(isinstance(item, str) and "\x00" in item for item in value):
            raise ValueError("must not contain NUL characters")
        return value


def _not_in_future(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time zone, e.g. 2026-11-20T10:00:00+01:00")
    if value > datetime.now(timezone.utc):
        raise ValueError("must not be in the future")
    return value


def _date_not_in_future(value: date) -> date:
    if value > clock.today():
        raise ValueError("must not be in the future")
    return value


def _adult(value: date) -> date:
    today = clock.today()
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if age < 18 or age > 100:
        raise ValueError("the applicant must be between 18 and 100 years old")
    return value


def _belgian_postal_code(value: str) -> str:
    if region_for_postal_code(value) is None:
        raise ValueError("must be a Belgian postal code (4 digits, 1000-9999)")
    return value


def _restated(clean, message: str):
    """A validator running ``clean`` (a service's checker) and restating its ``ValueError`` in the
    API's words; pydantic names the field."""
    def check(value: str) -> str:
        try:
            return clean(value)
        except ValueError as exc:
            raise ValueError(message) from exc
    return check


_national_number = _restated(identifiers.clean_national_number,
                             "is not a valid Belgian national register or BIS number")
_email = _restated(contact_details.clean_email, "is not a valid e-mail address")
_phone = _restated(contact_details.clean_phone, "is not a valid phone number (a Belgian one without a country code)")
_enterprise_number = _restated(identifiers.clean_enterprise_number,
                               "is not a valid Belgian enterprise number (KBO/BCE)")


def _money(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:
        raise ValueError("must have at most two decimals")
    return value


class Consent(Strict):
    given_at: Annotated[datetime, AfterValidator(_not_in_future)] = Field(
        description="When the applicant consented to the hand-over (with time zone).")
    method: Literal["written", "electronic", "verbal_recorded"]
    scope: list[Literal[CONSENT_SCOPES]] = Field(min_length=1, max_length=3)


class Applicant(Strict):
    first_name: Name
    last_name: Name
    birth_date: Annotated[date, AfterValidator(_adult)]
    national_number: Annotated[str, StringConstraints(max_length=20), AfterValidator(_national_number)] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254),
                     AfterValidator(_email)] | None = Field(
        None, description="Optional; give email, phone or both. Checked for its syntax, stored normalised.")
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ./()-]{6,30}$"), AfterValidator(_phone)] | None = Field(
        None, description="Optional; give email, phone or both. Without a country code it is read as a "
                          "Belgian number; it must be a valid number and is stored as E.164 (+32470123456).")
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$"), AfterValidator(_belgian_postal_code)]
    language: Literal[LANGUAGES]
    collective_debt_settlement: bool | None = Field(
        None, description="Known to be in collective debt settlement (some institutions exclude it).")
    undischarged_bankruptcy: bool | None = Field(None, description="Known undischarged bankruptcy.")

    @model_validator(mode="after")
    def _one_contact_means(self):
        if not self.email and not self.phone:
            raise ValueError("give at least one contact means: email or phone")
        return self


class Project(Strict):
    amount_requested: Annotated[Decimal, Field(gt=0, le=1_000_000, description="EUR, at most two decimals"),
                                AfterValidator(_money)]
    sector: Literal[SECTORS]
    stage: Literal[STAGES]
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    purpose_category: Literal[PURPOSE_CATEGORIES] | None = Field(
        None, description="What the money is for; some institutions finance investment only.")
    enterprise_number: Annotated[str, StringConstraints(max_length=20), AfterValidator(_enterprise_number)] | None = None
    enterprise_started_on: Annotated[date, AfterValidator(_date_not_in_future)] | None = Field(
        None, description="When the enterprise started trading; each institution judges 'starter' by its own rule.")
    term_months: int | None = Field(None, ge=1, le=360, description="The term asked for, in months.")


class Refusal(Strict):
    decided_on: Annotated[date, AfterValidator(_date_not_in_future)]
    reasons: list[Code] = Field(min_length=1, max_length=10,
                                description="The referrer's refusal reason codes, e.g. insufficient_collateral.")


class ReferralIn(Strict):
    """A referral sent by a bank or public financier."""

    external_reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    consent: Consent
    applicant: Applicant
    project: Project
    refusal: Refusal


class Stages(BaseModel):
    received_at: datetime
    offered_at: datetime | None = None
    accepted_at: datetime | None = None
    first_contact_at: datetime | None = None
    decided_at: datetime | None = None
    disbursed_at: datetime | None = None
    closed_at: datetime | None = None


class InstitutionRef(BaseModel):
    slug: str
    name: str


class ReferralOut(BaseModel):
    """What a referrer may know of its referral: never the institution's notes."""

    id: int
    external_reference: str
    status: Literal[
        "received", "offered", "accepted", "contacted", "financed", "not_financed", "withdrawn", "no_match",
        "linked"]
    institution: InstitutionRef | None = None
    linked_to: int | None = Field(None, description="The open case this referral was linked to.")
    outcome_reason: str | None = None
    contact_deadline: date | None = None
    stages: Stages
    updated_at: datetime


class ReferralPage(BaseModel):
    items: list[ReferralOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page.")


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None
