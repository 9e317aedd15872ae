"""The Crédal plugin: the institution (profile, settings, products and referral rules are in institution.py)."""
from core.plugin_api import hookimpl

from plugins.credal.institution import Credal


@hookimpl
def register_institutions():
    """Crédal itself."""
    return [Credal()]
