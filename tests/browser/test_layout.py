"""The layout at 375 px (a phone) and 1,280 px (a laptop), for every role (issue 15, point 1).

For each role the pages of its menu (and a client's and a loan's page) are walked at both widths:
the page never scrolls sideways, every form control has a label and axe-core finds no critical or
serious violation (issue 15, point 7). At 375 px the menu is folded
behind its button, which opens it; the first Tab stops on the skip link, which moves focus to the
main content; required fields show their mark.
"""
from __future__ import annotations

import pytest

from core.services import accounts
from tests.browser import axe
from tests.browser.untranslated import untranslated
from tests.browser.conftest import choose_language
from tests.browser.conftest import sign_in as sign_in_staff
from tests.clients_data import make_client, make_session
from tests.conftest import PASSWORD, make_staff
from tests.loans_data import make_loan, pay
from tests.referral_helpers import make_referrer

NARROW = {"width": 375, "height": 740}
WIDE = {"width": 1280, "height": 800}

# What a page must satisfy: no sideways scroll; every visible control labelled.
CHECK_PAGE = """() => {
  const unlabelled = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
    if (!el.getClientRects().length || el.closest(".refer-hp")) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby") || el.getAttribute("title");
    if (!named) unlabelled.push(el.outerHTML.slice(0, 120));
  }
  const wide = [];  // for the failure message: the innermost elements sticking out on the right
  for (const el of document.body.querySelectorAll("*")) {
    if (el.getBoundingClientRect().right > window.innerWidth + 1
        && !(el.parentElement.closest(".table-box")
             && el.parentElement.closest(".table-box").getBoundingClientRect().right <= window.innerWidth + 1)) {
      wide.push(el.tagName + (el.id ? "#" + el.id : "") + "." + el.className + " " + el.outerHTML.slice(0, 80));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          unlabelled: unlabelled, wide: wide.slice(0, 5)};
}"""


def _check(page, url: str, width: int, language: str | None = None) -> None:
    page.goto(url)
    result = page.evaluate(CHECK_PAGE)
    assert result["scrollWidth"] <= result["innerWidth"], (
        f"{url} scrolls sideways at {width} px: {result['scrollWidth']} > {result['innerWidth']}: {result['wide']}")
    assert not result["unlabelled"], f"{url}: controls without a label: {result['unlabelled']}"
    found = axe.violations(page)
    assert not found, f"{url} at {width} px: axe-core finds {found}"
    if language:
        assert page.locator("html").get_attribute("lang") == language
        left = untranslated(page, language)
        assert not left, f"{url} in {language}: untranslated or raw: {left}"


def _menu_urls(page) -> list[str]:
    return page.eval_on_selector_all("#site-menu nav a", "links => links.map(a => a.href)")


def sign_in(page, live_server, user, language: str | None = None) -> None:
    if user.role != "referrer":
        return sign_in_staff(page, live_server, user, language=language)
    page.goto(f"{live_server.url}/login")  # an adviser lands on the portal, not on the home page
    if language:
        choose_language(page, language)
    page.locator('input[name="email"]').fill(user.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('#login button[type="submit"]').click()
    page.wait_for_url(f"{live_server.url}/portal/")


def _walk(page, live_server, user, extra_paths=(), wide_pages=4, language=None) -> None:
    """Every menu page (and ``extra_paths``) at 375 px; the first ``wide_pages`` of them and the
    extra ones at 1,280 px, where the menu leaves the most room (keeps the test quick). With a
    ``language``, signed in in that language, and every page is also checked for untranslated text."""
    page.set_viewport_size(NARROW)
    sign_in(page, live_server, user, language)

    # The first Tab reaches the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Narrow: the menu is folded behind its button, which opens it.
    menu, button = page.locator("#site-menu"), page.locator("#site-menu > summary")
    assert button.is_visible() and menu.get_attribute("open") is None
    first_link = page.locator("#site-menu nav a").first
    assert not first_link.is_visible()
    button.click()
    assert first_link.is_visible()
    menu_urls, extra_urls = _menu_urls(page), [live_server.url + path for path in extra_paths]
    assert menu_urls
    for url in menu_urls + extra_urls:
        _check(page, url, NARROW["width"], language)

    # Wide: no button, the menu shows open, grouped by area.
    page.set_viewport_size(WIDE)
    page.goto(menu_urls[0])
    assert not button.is_visible() and first_link.is_visible()
    for url in menu_urls[:wide_pages] + extra_urls:
        _check(page, url, WIDE["width"], language)


@pytest.fixture
def staff(live_server):
    staff = make_staff("microstart")
    client = make_client(staff, first_name="Anne-Marie-Josephine", last_name="Van den Broeck-Vermeulen",
                         enterprise_name="Boulangerie-Pâtisserie de la Grand-Place et Environs")
    make_session(staff, client, coach_id=staff.coach.id)
    loan = make_loan(staff, client)
    pay(staff, loan, loan.disbursed_on, "100")
    staff.paths = (f"/clients/{client.id}", f"/loans/{loan.id}", "/clients/new")
    return staff


def test_officer_pages_fit_a_phone_and_a_laptop(live_server, page, staff):
    _walk(page, live_server, staff.officer, staff.paths)
    # Required fields are marked: a visible asterisk, "required" for screen readers, and the attribute.
    page.set_viewport_size(NARROW)
    page.goto(f"{live_server.url}/clients/new")
    label = page.locator('label[for="first_name"]')
    assert label.locator(".required-mark").inner_text() == "*"
    assert "(required)" in label.locator(".visually-hidden").inner_text()
    assert page.locator("#first_name").get_attribute("aria-required") == "true"
    assert page.locator("#first_name").get_attribute("required") is not None
    assert page.locator('label[for="email"] .required-mark').count() == 0  # optional: no mark
    # Filters fold behind their button on a phone; the search stays in view.
    page.goto(f"{live_server.url}/clients/")
    assert page.locator("#client-search").is_visible()
    stage = page.locator('select[name="stage"]')
    assert not stage.is_visible()
    page.locator("#client-filter-fold > summary").click()
    assert stage.is_visible()


def test_coach_and_admin_pages_fit(live_server, page, browser, staff):
    _walk(page, live_server, staff.coach, staff.paths[:1])
    admin = browser.new_context(locale="en-GB").new_page()
    try:
        _walk(admin, live_server, staff.admin)
        admin.goto(f"{live_server.url}/admin/users")
        assert admin.locator('label[for="email"] .required-mark').is_visible()
    finally:
        admin.context.close()


def test_federation_and_portal_pages_fit(live_server, page, browser):
    auditor = accounts.create_user(email="auditor@federation.test", name="Audrey Auditor", role="auditor",
                                   institution_id=None, password=PASSWORD)
    operator = accounts.create_user(email="operator@microfin.test", name="Otto Operator", role="operator",
                                    institution_id=None, password=PASSWORD)
    bank, _token = make_referrer("Bank Example")
    adviser = accounts.create_user(email="ada@bank-example.test", name="Ada Adviser", role="referrer",
                                   institution_id=None, referrer_id=bank.id, password=PASSWORD,
                                   preferred_language="en")
    for user in (auditor, operator, adviser):
        context = browser.new_context(locale="en-GB")
        context.set_default_timeout(10_000)
        try:
            _walk(context.new_page(), live_server, user)
        finally:
            context.close()


def test_the_menu_works_without_javascript(live_server, browser):
    staff = make_staff("credal")
    context = browser.new_context(locale="en-GB", java_script_enabled=False, viewport=WIDE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in_staff(page, live_server, staff.officer)
        clients = page.locator("#site-menu nav").get_by_role("link", name="Clients")
        assert clients.is_visible()  # wide: shown open by the stylesheet alone
        page.set_viewport_size(NARROW)
        assert not clients.is_visible()
        page.locator("#site-menu > summary").click()  # narrow: the button opens it
        assert clients.is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_role_in_dutch_and_french(live_server, browser, staff, language):
    """Every role's menu pages at both widths in Dutch and in French: the layout checks above, and
    no English text or raw code on any of them."""
    auditor = accounts.create_user(email=f"auditor-{language}@federation.test", name="Audrey Auditor",
                                   role="auditor", institution_id=None, password=PASSWORD)
    operator = accounts.create_user(email=f"operator-{language}@microfin.test", name="Otto Operator",
                                    role="operator", institution_id=None, password=PASSWORD)
    bank, _token = make_referrer(f"Bank {language}")
    adviser = accounts.create_user(email=f"ada-{language}@bank-example.test", name="Ada Adviser", role="referrer",
                                   institution_id=None, referrer_id=bank.id, password=PASSWORD)
    for user, extra in ((staff.officer, staff.paths), (staff.coach, ()), (staff.admin, ()), (auditor, ()),
                        (operator, ()), (adviser, ())):
        context = browser.new_context(locale="en-GB")
        context.set_default_timeout(10_000)
        try:
            _walk(context.new_page(), live_server, user, extra, wide_pages=99, language=language)
        finally:
            context.close()
