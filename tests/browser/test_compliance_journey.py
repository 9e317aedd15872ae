"""Issue 7's journey in a real browser: an institution completes a self-assessment, an auditor
comments, the institution answers, and the auditor approves."""
from core.services import accounts
from tests.browser.conftest import sign_in
from tests.compliance_helpers import load
from tests.conftest import PASSWORD, make_staff

TWO = [("1.1", "1", True, "all"), ("2.1", "2", False, "all")]


def _answer(page, clause, value, reason=""):
    article = page.locator(f"#clause-{clause.id}")
    article.get_by_label("Answer").select_option(value)
    if reason:
        article.get_by_label("Why it does not apply").fill(reason)
    article.get_by_role("button", name="Save the answer").click()
    return article


def test_institution_completes_a_self_assessment_and_an_auditor_approves_it(live_server, page, browser):
    staff = make_staff("hefboom")
    auditor = accounts.create_user(email="auditor@federation.test", name="Audrey Auditor", role="auditor",
                                   institution_id=None, password=PASSWORD)
    catalogue = load(TWO)
    first, second = catalogue.clauses

    sign_in(page, live_server, staff.admin)
    page.get_by_role("link", name="Code of conduct").first.click()
    page.get_by_label("Catalogue version").select_option(str(catalogue.id))
    page.get_by_label("Period from").fill("2025-01-01")
    page.get_by_label("Period to").fill("2025-12-31")
    page.get_by_role("button", name="Start").click()
    assert "Self-assessment started." in page.locator("main").inner_text()

    # "Not applicable" without a reason is refused next to the field, in place (htmx, 422).
    article = _answer(page, second, "not_applicable")
    assert "Say why this clause does not apply" in article.locator(".field-error").inner_text()
    _answer(page, first, "met")
    page.locator(f"#clause-{first.id} .answer-label", has_text="Met").wait_for()
    _answer(page, second, "met")
    page.locator(f"#clause-{second.id} .answer-label", has_text="Met").wait_for()
    page.get_by_role("button", name="Submit to the federation").click()
    assert page.locator("#status").inner_text() == "submitted"
    assert page.locator("#overall-share").inner_text() == "100%"

    reviewer = browser.new_context(locale="en-GB").new_page()
    sign_in(reviewer, live_server, auditor)
    reviewer.get_by_role("link", name="Compliance").first.click()
    row = reviewer.locator("#institution-hefboom")
    assert "submitted" in row.inner_text()
    row.get_by_role("link").click()
    reviewer.get_by_role("button", name="Start the review").click()
    assert reviewer.locator("#status").inner_text() == "under review"
    reviewer.locator(f"#clause-{second.id}").get_by_label("Comment or request on clause 2.1").fill("Which report?")
    reviewer.locator(f"#clause-{second.id}").get_by_role("button", name="Add the comment").click()
    assert reviewer.locator(f"#clause-{second.id} .open-request").is_visible()
    reviewer.get_by_role("button", name="Approve").click()
    assert reviewer.locator("#status").inner_text() == "approved"
    assert "valid until" in reviewer.locator("#award").inner_text()
    assert "Award test passed" in reviewer.locator("#award-test").inner_text()
    reviewer.context.close()

    page.reload()
    assert page.locator("#status").inner_text() == "approved"
    assert "Which report?" in page.locator(f"#clause-{second.id}").inner_text()
