"""The list journey in a real browser (issue 15, point 2): sort the client list by a column
header, save that filter, tick three clients, assign them a coach; at 375 px, by keyboard for the
bulk form; then "select all on this page" at 1,280 px."""
import re

from sqlalchemy import select

from core.extensions import db
from core.models import Client
from core.tenancy import acting_for
from tests.browser import axe
from tests.browser.conftest import sign_in
from tests.clients_data import make_client
from tests.conftest import make_staff


def test_sort_save_the_filter_select_three_clients_and_assign_a_coach(live_server, page):
    staff = make_staff("microstart")
    for n, (last, stage) in enumerate((("Dupont", "starter"), ("Claes", "project"), ("Maes", "starter"),
                                       ("Janssens", "starter"), ("Peeters", "project"))):
        make_client(staff, first_name=f"Client{n}", last_name=last, stage=stage, national_number=None)
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_server, staff.officer)
    page.goto(f"{live_server.url}/clients/")

    # Sort by stage, then the other way round, with the column header links.
    header = page.locator("#client-table th", has_text="Stage")
    header.get_by_role("link").click()
    page.wait_for_url(re.compile(r"sort=stage"))
    assert page.locator("#client-table th[aria-sort]").inner_text().startswith("Stage")
    page.locator("#client-table th", has_text="Stage").get_by_role("link").click()
    page.wait_for_url(re.compile(r"sort=-stage"))
    assert page.locator("#client-table th", has_text="Stage").get_attribute("aria-sort") == "descending"
    names = page.locator("#client-table tbody td:nth-child(2)").all_inner_texts()
    assert names[:3] == ["Dupont, Client0", "Maes, Client2", "Janssens, Client3"][::-1]  # starters, id desc

    # Save it: the saved filter comes back as a link that opens the same order.
    saved = page.locator("#saved-filters")
    if saved.get_attribute("open") is None:
        saved.locator("summary").click()
    page.locator("#saved-filter-name").fill("Starters first")
    page.locator("#saved-filters").get_by_role("button", name="Save").click()
    page.locator(".flash", has_text="Filter “Starters first” saved.").wait_for()
    page.goto(f"{live_server.url}/clients/")
    page.locator("#saved-filters").get_by_role("link", name="Starters first").click()
    page.wait_for_url(re.compile(r"sort=-stage"))
    assert not axe.violations(page)

    # Tick three clients, then by keyboard: open the folded bulk form (a phone), choose the action
    # and the coach, and apply.
    assert not page.locator("#bulk-action").is_visible()
    page.locator("#bulk-fold > summary").focus()
    page.keyboard.press("Enter")
    assert page.locator("#bulk-action").is_visible()
    for name in ("Janssens, Client3", "Maes, Client2", "Dupont, Client0"):
        page.get_by_label(f"Select {name}").check()
    page.locator("#bulk-action").focus()
    page.locator("#bulk-action").select_option("assign_coach")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "bulk-coach"
    page.locator("#bulk-coach").select_option(label=staff.coach.name)
    page.locator("#client-bulk button[type=submit]").focus()
    page.keyboard.press("Enter")
    page.locator(".flash", has_text=f"{staff.coach.name} is now the coach of 3 clients.").wait_for()
    assert "sort=-stage" in page.url  # back on the same list
    with acting_for(staff.institution_id):
        db.session.expire_all()
        coached = set(db.session.scalars(select(Client.last_name).where(Client.coach_id == staff.coach.id)))
    assert coached == {"Janssens", "Maes", "Dupont"}

    # Wide: "select all on this page" ticks every row; nothing ticked gives a clear error.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/clients/")
    page.get_by_label("Select all on this page").check()
    assert page.locator("input.select-row:checked").count() == 5
    page.get_by_label("Select all on this page").uncheck()
    page.locator("#bulk-action").select_option("assign_coach")
    page.locator("#client-bulk button[type=submit]").click()
    assert "Select at least one client first: nothing was changed." in page.locator("#bulk-error").inner_text()
    assert not axe.violations(page)
