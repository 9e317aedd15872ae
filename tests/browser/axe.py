"""axe-core in the browser tests (issue 15, point 7): no critical or serious violation on a page.

axe-core's script ships inside axe-playwright-python (pinned in the test extras); it is evaluated
in the page through Playwright, which the strict Content-Security-Policy does not block.
"""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

REFUSED = ("critical", "serious")
_axe = Axe()


def violations(page) -> list[str]:
    """The critical and serious violations on ``page`` as readable lines (rule, impact, where)."""
    results = _axe.run(page, options={"resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in REFUSED:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])}x): "
                         f"{violation['help']} at {targets}")
    return found
