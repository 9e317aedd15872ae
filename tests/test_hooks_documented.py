"""Every hook is documented in docs/plugins.md with its exact signature, and tested (Datasette's rule)."""
import inspect
import re
from pathlib import Path

from core import hookspecs

DOCS = Path(__file__).parent.parent / "docs" / "plugins.md"


def _hooks():
    return {name: fn for name, fn in vars(hookspecs).items()
            if callable(fn) and hasattr(fn, "microfin_spec")}


def test_there_are_hooks():
    assert {"register_institutions", "register_blueprints", "menu_items", "on_event"} <= set(_hooks())


def test_every_hook_is_documented_with_its_signature():
    headings = set(re.findall(r"^### `(\w+\(.*?\))`$", DOCS.read_text(), re.M))
    for name, fn in _hooks().items():
        signature = f"{name}{inspect.signature(fn)}"
        assert signature in headings, f"docs/plugins.md needs a section '### `{signature}`'"


def test_every_hook_has_a_docstring():
    assert all(fn.__doc__ and len(fn.__doc__) > 40 for fn in _hooks().values())


def test_every_hook_has_a_test():
    names = set()
    for path in Path(__file__).parent.rglob("test_*.py"):
        names |= set(re.findall(r"^def (test_hook_\w+)", path.read_text(), re.M))
    for hook in _hooks():
        assert any(test.startswith(f"test_hook_{hook}") for test in names), f"write test_hook_{hook}"
