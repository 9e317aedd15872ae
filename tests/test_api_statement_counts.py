"""The referral API runs a bounded number of SQL statements, whatever the page size (issue 13,
point 8: a page of 50 in at most 6 statements; it ran 103 with an N+1 over institutions and offers)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from core.extensions import db
from tests.referral_helpers import auth, body, make_referrer, send


@contextmanager
def counted():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_page_of_fifty_referrals_takes_at_most_six_statements(client):
    _, token = make_referrer()
    postal_codes = ["1000", "9000", "4000", "2000", "1080"]  # routed to different institutions
    for n in range(50):
        assert send(client, token, body(**{"external_reference": f"R-{n}",
                                           "applicant.postal_code": postal_codes[n % 5]}),
                    key=f"k{n}").status_code == 201
    with counted() as statements:
        page = client.get("/api/v1/referrals?limit=50", headers=auth(token))
    assert page.status_code == 200 and len(page.get_json()["items"]) == 50
    assert len(statements) <= 6, statements


def test_one_referral_is_read_in_at_most_six_statements(client):
    _, token = make_referrer()
    created = send(client, token, body()).get_json()
    with counted() as statements:
        assert client.get(f"/api/v1/referrals/{created['id']}", headers=auth(token)).status_code == 200
    assert len(statements) <= 6, statements
