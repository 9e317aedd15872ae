"""Forms of the operator's screens: referrer organisations and their webhooks."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length


class ReferrerForm(FlaskForm):
    # The service checks emptiness, kind and duplicates (the same rules as `microfin referrers add`).
    name = StringField(_l("Organisation name"), validators=[Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice("", _l("Choose…")),
                                            SelectChoice("bank", _l("Bank")),
                                            SelectChoice("public", _l("Public financier"))])
    expires_on = StringField(_l("First token expires on (optional)"),
                             render_kw={"type": "date", "placeholder": "YYYY-MM-DD"})


class WebhookForm(FlaskForm):
    webhook_url = StringField(_l("Webhook URL"), validators=[Length(max=500)])


class TokenForm(FlaskForm):
    # Parsed by the service (the same rule as `microfin referrers token --expires`).
    expires_on = StringField(_l("Expires on (optional)"),
                             render_kw={"type": "date", "placeholder": "YYYY-MM-DD"})


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token (enable, disable, revoke, remove, test)."""
