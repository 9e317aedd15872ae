"""Charts keep their texts readable at any length of period (issue 15, point 5): the portfolio
report's 24-month trend, in French (the longest amounts), on a laptop and on a phone; no two texts
of a chart overlap, and every column keeps its value in its tooltip."""
from __future__ import annotations

from datetime import date

from tests.browser.conftest import sign_in
from tests.conftest import make_staff
from tests.loans_data import make_loan

OVERLAPS = """() => {
  const found = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const boxes = [...svg.querySelectorAll(":scope > text")].slice(1).map(t => [t.textContent, t.getBBox()]);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, p] = boxes[i], [b, q] = boxes[j];
        if (p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height) {
          found.push(a + " / " + b);
        }
      }
    }
  }
  return found;
}"""


def test_a_24_month_trend_has_no_overlapping_texts(live_server, page):
    staff = make_staff("microstart")
    make_loan(staff, principal="12345", disbursed_on=date(2024, 1, 15))
    sign_in(page, live_server, staff.officer, language="fr")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{live_server.url}/reports/portfolio?at=2025-12-31&from=2024-01-01&to=2025-12-31")
        charts = page.locator("svg.chart")
        assert charts.count() == 2
        columns = charts.first.locator("g > title")
        assert columns.count() == 24
        assert "25-12" in columns.last.text_content() and "€" not in columns.last.text_content()
        assert page.evaluate(OVERLAPS) == []
        written = charts.first.locator(":scope > text")
        assert 6 <= written.count() - 1 < 48  # not every month is written, the last one is
        assert "25-12" in written.last.text_content() or "25-12" in written.nth(written.count() - 2).text_content()
