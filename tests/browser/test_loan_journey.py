"""A loan's whole life in a real browser: draft → decision by another person → offer with its APR →
disbursement → payment → repaid, and the client's coaching closed."""
from decimal import Decimal

from core import clock
from core.extensions import db
from core.services import coaching, loans
from core.tenancy import acting_for
from tests.browser.conftest import sign_in
from tests.clients_data import make_client
from tests.conftest import make_staff


def test_a_loan_from_application_to_last_repayment(live_server, page, browser):
    staff = make_staff("microstart")
    client = make_client(staff, first_name="Nadia", last_name="Journey")
    with acting_for(staff.institution_id):
        coaching.open_track(client.id)

    sign_in(page, live_server, staff.officer)
    page.goto(f"{live_server.url}/clients/{client.id}")
    page.locator(f'a[href="/loans/client/{client.id}"]').click()
    page.get_by_role("button", name="New loan application").click()
    page.get_by_label("Product").select_option("jump")
    page.get_by_label("Amount (EUR)").fill("90000")
    page.get_by_label("Term (months)").fill("12")
    page.locator("#purpose_category").select_option("investment")
    page.get_by_label("What the loan pays for").fill("An oven")
    page.get_by_role("button", name="Save the draft").click()
    assert "may not exceed 25000" in page.locator("#loan-form").inner_text()  # next to the field
    assert page.get_by_label("Amount (EUR)").input_value() == "90000"  # what was typed is kept
    page.get_by_label("Amount (EUR)").fill("1200")
    page.get_by_role("button", name="Save the draft").click()
    page.get_by_role("button", name="Submit for a decision").click()
    assert "another person must decide" in page.locator("main").inner_text()

    admin = browser.new_context().new_page()
    sign_in(admin, live_server, staff.admin)
    admin.locator("nav").get_by_role("link", name="Loan decisions").click()
    admin.locator("#approval-queue tbody a").first.click()  # (thead: the sort links)
    admin.get_by_role("button", name="Approve").click()
    assert admin.locator("#loan-status").inner_text() == "Approved"
    admin.get_by_role("button", name="Offer: schedule, total cost and APR").click()
    assert "Total cost of borrowing" in admin.locator("#cost-disclosure").inner_text()
    assert admin.locator("#apr").inner_text().endswith("%")
    admin.get_by_role("link", name="Back to the loan").click()
    admin.get_by_label("Paid out on").fill(clock.today().isoformat())
    admin.get_by_role("button", name="Record the disbursement").click()
    assert admin.locator("#loan-status").inner_text() == "Paid out, being repaid"
    assert admin.locator("#payment-reference").inner_text().startswith("+++")
    admin.context.close()

    db.session.expire_all()
    with acting_for(staff.institution_id):
        loan = loans.loans_of(client.id)[0]
        owed = sum((l.principal + l.interest + l.fees for l in loan.schedule_lines), Decimal("0"))
    page.reload()
    payment = page.locator("#payment-form")  # the prepayment and recovery forms have these labels too
    payment.get_by_label("Value date").fill(clock.today().isoformat())
    payment.get_by_label("Amount (EUR)").fill(str(owed))
    page.get_by_role("button", name="Record the payment").click()
    assert page.locator("#loan-status").inner_text() == "Repaid"
    page.goto(f"{live_server.url}/clients/{client.id}")
    main = page.locator("main").inner_text()
    assert "Closed because the loan was repaid." in main
    assert f"Loan #{loan.id} repaid" in main and f"Loan #{loan.id} paid out" in main
