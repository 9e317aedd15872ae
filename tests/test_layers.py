"""Imports run one way: models ← services ← web/api/cli, and ``core.plugin_api`` rests on nothing
but the models and pure helpers. Read from the source (every import, also inside functions), so a
new upward import fails here before it closes a circle through the whole application."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "core").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.update(resolve(f"{node.module}.{alias.name}") or resolve(node.module)
                               for alias in node.names)
        graph[name] = {t for t in targets if t and t != name}
    return graph


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_plugin_api_rests_on_models_and_pure_helpers_only():
    reached = _reach(_graph(), "core.plugin_api")
    upward = sorted(m for m in reached if m.startswith(("core.web", "core.services", "core.api",
                                                        "core.builtin", "core.cli", "core.plugin_loader")))
    assert upward == []


def test_the_plugin_runtime_and_the_models_do_not_import_the_application_back():
    graph = _graph()
    for low in ("core.plugins", "core.models", "core.extensions", "core.tenancy", "core.access"):
        reached = _reach(graph, low)
        assert low not in reached, f"{low} imports itself back through {sorted(reached)}"
        upward = sorted(m for m in reached if m.startswith(("core.web", "core.api", "core.builtin", "core.cli")))
        assert upward == [], f"{low} reaches {upward}"


def test_plugins_import_nothing_of_core_but_plugin_api():
    """The built-in plugins, the example plugin and the skeleton reach core only through
    ``core.plugin_api`` (their tests may use ``core.testing``)."""
    sources = [*sorted((ROOT / "plugins").rglob("*.py")),
               *sorted((ROOT / "examples" / "microfin-example" / "microfin_example").rglob("*.py"))]
    from core.skeleton import FILES

    texts = {str(path): path.read_text() for path in sources}
    texts.update({f"skeleton:{name}": body for name, body in FILES.items()
                  if name.endswith(".py") and not name.startswith("tests/")})
    found = []
    for name, text in texts.items():
        for node in ast.walk(ast.parse(text.replace("$package", "pkg").replace("$class_name", "Cls"))):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            found += [f"{name}: {m}" for m in modules if m.split(".")[0] == "core" and m != "core.plugin_api"]
    assert found == []
