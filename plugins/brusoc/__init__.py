"""The Brusoc plugin: the institution (profile, settings, products and referral rules are in institution.py)."""
from core.plugin_api import hookimpl

from plugins.brusoc.institution import Brusoc


@hookimpl
def register_institutions():
    """Brusoc itself."""
    return [Brusoc()]
