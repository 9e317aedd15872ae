"""Forms of the compliance pages: starting a self-assessment, answering a clause, evidence, comments."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

ANSWER_CHOICES = [SelectChoice("", _l("Not answered yet")), SelectChoice("met", _l("Met")),
                  SelectChoice("partly", _l("Partly met")), SelectChoice("not_met", _l("Not met")),
                  SelectChoice("not_applicable", _l("Not applicable"))]


class NewAssessmentForm(FlaskForm):
    catalogue_id = SelectField(_l("Catalogue version"), choices=[])
    period_start = DateField(_l("Period from"), validators=[DataRequired(_l("Enter a date as YYYY-MM-DD."))])
    period_end = DateField(_l("Period to"), validators=[DataRequired(_l("Enter a date as YYYY-MM-DD."))])
    larger_provider = BooleanField(_l("We are a larger provider (clauses for larger providers apply)"))


class AnswerForm(FlaskForm):
    answer = SelectField(_l("Answer"), choices=ANSWER_CHOICES, validators=[Optional()])
    reason = TextAreaField(_l("Why it does not apply"), validators=[Length(max=5000)])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=5000)])
    evidence_text = TextAreaField(_l("Evidence (text)"), validators=[Length(max=10000)])
    links = TextAreaField(_l("Links (one per line)"), validators=[Length(max=5000)])


class UploadForm(FlaskForm):
    file = FileField(_l("Evidence file"))


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(_l("Write a comment."))])
