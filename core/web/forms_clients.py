"""Forms of clients and coaching. Choices are filled per request (translated labels, own coaches)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, FieldList, FormField, HiddenField, IntegerField,
                     SelectField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import NumberInput

from core.models.coaching import CHANNELS, PHASES
from core.models.people import (CLIENT_STATUSES, CONSENT_KINDS, CONSENT_METHODS, EDUCATION_LEVELS,
                                EMPLOYMENT_STATUSES, GENDERS, LEGAL_FORMS, SECTORS, STAGES)

from core.web.forms import Needed
from core.labels import (GENDER_LABELS, LANGUAGE_LABELS, REGION_LABELS, SECTOR_LABELS,  # noqa: F401 (re-exported)
                         STAGE_LABELS, STATUS_LABELS)

EDUCATION_LABELS = {"none": _l("No diploma"), "primary": _l("Primary school"),
                    "lower_secondary": _l("Lower secondary"), "upper_secondary": _l("Upper secondary"),
                    "higher": _l("Higher education")}
EMPLOYMENT_LABELS = {"job_seeker": _l("Job seeker"), "employed": _l("Employed"),
                     "self_employed": _l("Self-employed"), "inactive": _l("Inactive"),
                     "student": _l("Student")}
LEGAL_FORM_LABELS = {"sole_trader": _l("Sole trader"), "srl": _l("Private limited company (BV/SRL)"),
                     "sc": _l("Cooperative (CV/SC)"), "sa": _l("Public limited company (NV/SA)"),
                     "asbl": _l("Non-profit (VZW/ASBL)"), "other": _l("Other")}
CONSENT_LABELS = {"data_processing": _l("Processing of personal data"),
                  "referral_sharing": _l("Sharing with the referrer"),
                  "impact_surveys": _l("Being contacted for impact surveys")}
METHOD_LABELS = {"paper": _l("Signed on paper"), "in_person": _l("Said in person"),
                 "email": _l("By e-mail"), "phone": _l("By phone"), "online": _l("Online form")}
PHASE_LABELS = {"before_loan": _l("Before the loan"), "start_up": _l("Start-up"),
                "follow_up": _l("Follow-up")}
CHANNEL_LABELS = {"in_person": _l("In person"), "phone": _l("Phone"), "video": _l("Video call"),
                  "email": _l("E-mail")}
REGION_CHOICES = tuple(REGION_LABELS.items())


def choices(codes, labels, blank=None) -> list[SelectChoice]:
    """Select options for ``codes`` with their labels, optionally after a blank one."""
    options = [SelectChoice(code, labels[code]) for code in codes]
    return [SelectChoice("", blank), *options] if blank is not None else options


def pairs(items, blank=None) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    options = [SelectChoice(str(value), label) for value, label in items]
    return [SelectChoice("", blank), *options] if blank is not None else options


def _int_or_none(value):
    return value if value not in ("", None) else None


class ClientForm(FlaskForm):
    version = HiddenField()
    confirm_duplicate = HiddenField()
    first_name = StringField(_l("First name"), validators=[Needed()])
    last_name = StringField(_l("Last name"), validators=[Needed()])
    birth_date = DateField(_l("Birth date"), validators=[Needed(), Optional()])
    gender = SelectField(_l("Gender"), choices=choices(GENDERS, GENDER_LABELS, "—"), validators=[Needed()])
    national_number = StringField(_l("National register number"))
    email = StringField(_l("E-mail"))
    phone = StringField(_l("Phone"))
    street = StringField(_l("Street and number"))
    postal_code = StringField(_l("Postal code"), validators=[Needed()])
    city = StringField(_l("Municipality"))
    preferred_language = SelectField(_l("Preferred language"),
                                     choices=choices(("nl", "fr", "en"), LANGUAGE_LABELS), validators=[Needed()])
    country_of_birth = SelectField(_l("Country of birth"), choices=[], validate_choice=False)
    education_level = SelectField(_l("Education"), choices=choices(EDUCATION_LEVELS, EDUCATION_LABELS, "—"))
    employment_status = SelectField(_l("Situation at intake"),
                                    choices=choices(EMPLOYMENT_STATUSES, EMPLOYMENT_LABELS, "—"))
    disability = BooleanField(_l("Recognised disability"))
    household_size = IntegerField(_l("Household size"), validators=[Optional()], widget=NumberInput(min=1))
    enterprise_name = StringField(_l("Enterprise name"))
    enterprise_number = StringField(_l("Enterprise number"))
    legal_form = SelectField(_l("Legal form"), choices=choices(LEGAL_FORMS, LEGAL_FORM_LABELS, "—"))
    sector = SelectField(_l("Sector"), choices=choices(SECTORS, SECTOR_LABELS, "—"), validators=[Needed()])
    enterprise_start_date = DateField(_l("Start date of the activity"), validators=[Optional()])
    stage = SelectField(_l("Stage"), choices=choices(STAGES, STAGE_LABELS, "—"), validators=[Needed()])
    iban = StringField(_l("IBAN"))
    coach_id = SelectField(_l("Coach"), choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=choices(CLIENT_STATUSES, STATUS_LABELS),
                         validate_choice=False)


class NoteForm(FlaskForm):
    body = TextAreaField(_l("New note"))


class ConsentForm(FlaskForm):
    kind = SelectField(_l("Consent"), choices=choices(CONSENT_KINDS, CONSENT_LABELS))
    given_on = DateField(_l("Given on"), validators=[Optional()])
    method = SelectField(_l("How"), choices=choices(CONSENT_METHODS, METHOD_LABELS))


class ActionForm(FlaskForm):
    class Meta:
        csrf = False

    description = StringField(_l("Agreed action"))
    due_on = DateField(_l("Due on"), validators=[Optional()])


class SessionForm(FlaskForm):
    coach_id = SelectField(_l("Coach"), choices=[], validate_choice=False)
    held_on = DateField(_l("Date"), validators=[Optional()])
    duration_minutes = IntegerField(_l("Duration (minutes)"), validators=[Optional()],
                                    widget=NumberInput(min=1, max=480))
    channel = SelectField(_l("Channel"), choices=choices(CHANNELS, CHANNEL_LABELS))
    topics = StringField(_l("Topics"))
    notes = TextAreaField(_l("Notes"))
    actions = FieldList(FormField(ActionForm), min_entries=3, max_entries=10)


class PhaseForm(FlaskForm):
    phase = SelectField(_l("Phase"), choices=choices(PHASES, PHASE_LABELS))


class CloseForm(FlaskForm):
    final_note = TextAreaField(_l("Final note"))


class TrainingForm(FlaskForm):
    title = StringField(_l("Title"))
    starts_on = DateField(_l("First day"), validators=[Optional()])
    ends_on = DateField(_l("Last day"), validators=[Optional()])
    place = StringField(_l("Place"))
    capacity = IntegerField(_l("Capacity"), validators=[Optional()], widget=NumberInput(min=1))


class EnrolForm(FlaskForm):
    training_id = SelectField(_l("Training"), choices=[], validate_choice=False)
