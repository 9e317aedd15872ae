"""The Crédal plugin: its institution profile (and, as the product issues land, its rules)."""
from core.plugin_api import hookimpl

from plugins.credal.institution import Credal


@hookimpl
def register_institutions():
    """Crédal itself."""
    return [Credal()]
