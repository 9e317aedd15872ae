"""The Hefboom plugin: its institution profile (and, as the product issues land, its rules)."""
from core.plugin_api import hookimpl

from plugins.hefboom.institution import Hefboom


@hookimpl
def register_institutions():
    """Hefboom itself."""
    return [Hefboom()]
