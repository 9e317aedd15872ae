"""Forms of the foundation: sign-in, invitations, passwords."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

LANGUAGE_CHOICES = [SelectChoice("nl", "Nederlands"), SelectChoice("fr", "Français"),
                    SelectChoice("en", "English")]


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    next = HiddenField()


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter an email address."))])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the person's name.")),
                                               Length(max=200)])
    role = SelectField(_l("Role"), choices=[SelectChoice("officer", _l("Loan officer")),
                                            SelectChoice("coach", _l("Coach")),
                                            SelectChoice("admin", _l("Administrator"))])
    preferred_language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(_l("Choose a password."))])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[EqualTo("password", _l("The two passwords differ."))])


class Needed:
    """Marks a field as required where the service, not the form, refuses it empty: the field macro
    then shows the required mark and sets ``required``/``aria-required`` (forms using it are
    ``novalidate``, so the service's message still shows next to the field)."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


def attach_errors(form: FlaskForm, errors: dict) -> None:
    """Put a service's ``ValidationFailed`` errors next to their fields ("" or an unknown name:
    at the top of the form), without repeating a message the field already shows."""
    for name, message in errors.items():
        field = form._fields.get(name) if name else None
        if field is None:
            form.form_errors.append(message)
        elif message not in field.errors:
            field.errors = [*field.errors, message]


class EmailChangeForm(FlaskForm):
    new_email = EmailField(_l("New email address"), validators=[DataRequired(_l("Enter an email address."))])
    current_password = PasswordField(_l("Your current password"),
                                     validators=[DataRequired(_l("Enter your password."))])


class PasswordChangeForm(SetPasswordForm):
    current_password = PasswordField(_l("Your current password"),
                                     validators=[DataRequired(_l("Enter your password."))])


class SecondFactorCodeForm(FlaskForm):
    """A 6-digit code of the authenticator app (or, at sign-in, a recovery code)."""

    code = StringField(_l("Code"), validators=[DataRequired(_l("Type the code your app shows."))])
