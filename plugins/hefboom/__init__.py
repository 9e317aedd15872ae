"""The Hefboom plugin: the institution (profile, settings, products and referral rules are in institution.py)."""
from core.plugin_api import hookimpl

from plugins.hefboom.institution import Hefboom


@hookimpl
def register_institutions():
    """Hefboom itself."""
    return [Hefboom()]
