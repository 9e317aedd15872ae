"""The Brusoc plugin: its institution profile (and, as the product issues land, its rules)."""
from core.plugin_api import hookimpl

from plugins.brusoc.institution import Brusoc


@hookimpl
def register_institutions():
    """Brusoc itself."""
    return [Brusoc()]
