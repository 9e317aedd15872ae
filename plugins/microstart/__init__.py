"""The microStart plugin: its institution profile (and, as the product issues land, its rules)."""
from core.plugin_api import hookimpl

from plugins.microstart.institution import MicroStart


@hookimpl
def register_institutions():
    """microStart itself."""
    return [MicroStart()]
