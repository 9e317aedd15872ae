"""The microStart plugin: the institution (profile, settings, products and referral rules are in institution.py)."""
from core.plugin_api import hookimpl

from plugins.microstart.institution import MicroStart


@hookimpl
def register_institutions():
    """microStart itself."""
    return [MicroStart()]
