"""Core shows the client fields an institution's plugin declares, as a client-page panel."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from core.plugin_api import ClientPanel, hookimpl


def _shown(declared, value, language: str) -> str:
    if value is None:
        return "—"
    if declared.type == "bool":
        return _("Yes") if value else _("No")
    if declared.type == "choice":
        return declared.choice_label(value, language)
    return str(value)


@hookimpl
def client_panels(client, user):
    """The values of the institution's declared client fields (sensitive ones: admins and officers)."""
    from core.services.clients import may_see_sensitive
    from core.services.plugin_fields import client_fields

    declared = [f for f in client_fields.declared() if not f.is_sensitive or may_see_sensitive(user)]
    if not declared:
        return []
    language = str(get_locale() or "en")
    values = client_fields.values_of(client.id)
    rows = Markup("").join(
        Markup("<dt>{}</dt><dd>{}</dd>").format(f.label(language), _shown(f, values.get(f.key), language))
        for f in declared)
    return [ClientPanel(title=_("Institution's own fields"), html=Markup('<dl id="institution-field-values">')
                        + rows + Markup("</dl>"), order=50)]

