"""Core's reactions to events of other areas: a repaid loan ends the client's coaching."""
from __future__ import annotations

import logging

from core.plugin_api import hookimpl

log = logging.getLogger(__name__)


@hookimpl
def on_event(event):
    """``loan.repaid`` (emitted by lending with ``data["client_id"]``) closes the coaching track."""
    if event.name != "loan.repaid" or event.institution_id is None:
        return
    from core.services import coaching
    from core.tenancy import acting_for

    with acting_for(event.institution_id):
        coaching.close_on_repayment(event.data["client_id"])
