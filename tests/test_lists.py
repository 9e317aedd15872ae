"""Issue 15, point 2: sortable columns, saved filters and bulk actions on the list pages.

Real database, real HTTP (Flask's test client with CSRF), no mocks.
"""
import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from core import clock
from core.extensions import db
from core.models import AuditEntry, Client, Enrolment
from core.models.saved_filters import SavedFilter
from core.services import clients as client_service
from core.tenancy import acting_for, all_institutions
from tests.clients_data import make_client, make_training
from tests.conftest import csrf_token, login, post
from tests.loans_data import make_loan


def _names(html: str) -> list[str]:
    """The client names of the list, in page order."""
    return re.findall(r'href="/clients/\d+">([^<]+)</a>', html)


def _clients(staff, specs):
    made = []
    for n, (last, stage, created) in enumerate(specs):
        client = make_client(staff, first_name=f"F{n}", last_name=last, stage=stage,
                             national_number=None, enterprise_number=None, iban=None)
        made.append(client)
        if created is not None:
            with all_institutions("test sets the creation time"):
                db.session.execute(update(Client).where(Client.id == client.id).values(created_at=created))
                db.session.commit()
    return made


# --- sorting --------------------------------------------------------------------------------------

def test_client_list_sorts_by_a_whitelisted_column_with_the_id_as_tiebreaker(app, client, staff_a, as_user):
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    made = _clients(staff_a, [("Zeta", "project", t), ("Alpha", "starter", t + timedelta(days=2)),
                              ("Mid", "project", t + timedelta(days=1)), ("Beta", "project", t)])
    as_user(staff_a.officer)
    default = client.get("/clients/").get_data(as_text=True)
    assert _names(default) == ["Alpha, F1", "Beta, F3", "Mid, F2", "Zeta, F0"]
    assert re.search(r'<th scope="col" aria-sort="ascending"><a href="[^"]*sort=-name', default)

    by_stage = client.get("/clients/?sort=stage").get_data(as_text=True)
    # three "project" clients: tied on the stage, in id order; then "starter"
    assert _names(by_stage) == ["Zeta, F0", "Mid, F2", "Beta, F3", "Alpha, F1"]
    assert 'aria-sort="ascending"><a href="/clients/?sort=-stage"' in by_stage
    stage_desc = client.get("/clients/?sort=-stage").get_data(as_text=True)
    assert _names(stage_desc) == ["Alpha, F1", "Beta, F3", "Mid, F2", "Zeta, F0"]  # ties by id, descending
    assert 'aria-sort="descending"' in stage_desc

    newest = client.get("/clients/?sort=-created_at").get_data(as_text=True)
    assert _names(newest) == ["Alpha, F1", "Mid, F2", "Beta, F3", "Zeta, F0"]  # F0 and F3 tie: id desc
    # the filters keep the order, the header links keep the filters
    filtered = client.get("/clients/?sort=-created_at&stage=project").get_data(as_text=True)
    assert _names(filtered) == ["Mid, F2", "Beta, F3", "Zeta, F0"]
    assert 'name="sort" value="-created_at"' in filtered
    assert re.search(r'href="/clients/\?stage=project&amp;sort=name"', filtered)
    assert made


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "stage", "-status", "name", "-sector"])
def test_client_keyset_pages_in_every_order_never_repeat_or_skip(app, staff_a, sort):
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    specs = [(f"Name{n % 3}", ("project", "starter")[n % 2], t + timedelta(days=n % 2)) for n in range(7)]
    _clients(staff_a, specs)
    with acting_for(staff_a.institution_id):
        filters = client_service.ClientFilters.from_mapping({"sort": sort}, user=staff_a.officer)
        everything, _ = client_service.list_clients(filters, limit=100)
        seen, cursor = [], None
        while True:
            rows, cursor = client_service.list_clients(filters, after=cursor, limit=2)
            seen += [c.id for c in rows]
            if cursor is None:
                break
        # and a search ("name") pages the same way
        searched = client_service.ClientFilters.from_mapping({"sort": sort, "q": "name"}, user=staff_a.officer)
        found, cursor = [], None
        while True:
            rows, cursor = client_service.list_clients(searched, after=cursor, limit=3)
            found += [c.id for c in rows]
            if cursor is None:
                break
    assert seen == [c.id for c in everything] == found
    assert len(seen) == 7 == len(set(seen))


def test_an_unknown_sort_key_is_ignored_and_said(app, client, staff_a, as_user):
    _clients(staff_a, [("Zeta", "project", None), ("Alpha", "project", None)])
    as_user(staff_a.officer)
    response = client.get("/clients/?sort=-national_number_hash")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This list cannot be sorted by “-national_number_hash”" in html
    assert _names(html) == ["Alpha, F1", "Zeta, F0"]
    for path in ("/loans/queue?sort=x", "/loans/late?sort=x", "/referrals/?sort=x"):
        assert "cannot be sorted by “x”" in client.get(path).get_data(as_text=True), path
    as_user(staff_a.admin)
    assert "cannot be sorted by “who”" in client.get("/admin/audit?sort=who").get_data(as_text=True)


def test_approval_queue_sorts_by_amount_client_and_date(app, client, staff_a, as_user):
    a = make_loan(staff_a, make_client(staff_a, last_name="Zed", national_number=None), status="submitted",
                  principal="3000")
    b = make_loan(staff_a, make_client(staff_a, last_name="Abe", national_number=None), status="submitted",
                  principal="9000")
    c = make_loan(staff_a, make_client(staff_a, last_name="Moe", national_number=None), status="submitted",
                  principal="3000")
    as_user(staff_a.officer)

    def order(path):
        return [int(i) for i in re.findall(r'href="/loans/(\d+)">#', client.get(path).get_data(as_text=True))]

    assert order("/loans/queue") == [a.id, b.id, c.id]
    assert order("/loans/queue?sort=-principal") == [b.id, c.id, a.id]  # a and c tie: id desc
    assert order("/loans/queue?sort=principal") == [a.id, c.id, b.id]
    assert order("/loans/queue?sort=client") == [b.id, c.id, a.id]
    assert 'aria-sort="descending"' in client.get("/loans/queue?sort=-client").get_data(as_text=True)


def test_late_list_sorts_by_loan_and_outstanding_and_keeps_the_order_across_pages(app, client, staff_a,
                                                                                  as_user, monkeypatch):
    from core.web import loans as loan_pages

    monkeypatch.setattr(loan_pages, "LATE_PER_PAGE", 2)
    ids = [make_loan(staff_a, disbursed_on=date(2025, 1, day), principal=amount).id
           for day, amount in ((20, "6000"), (5, "3000"), (12, "6000"))]
    as_user(staff_a.officer)

    def order(path):
        return [int(i) for i in re.findall(r'href="/loans/(\d+)">#', client.get(path).get_data(as_text=True))]

    assert order("/loans/late?on=2025-06-01") == [ids[1], ids[2]]  # longest late first, as before
    assert order("/loans/late?on=2025-06-01&sort=-loan") == [ids[2], ids[1]]
    second = client.get("/loans/late?on=2025-06-01&sort=-loan&page=2").get_data(as_text=True)
    assert f"#{ids[0]}<" in second and "sort=-loan" in second  # the page links keep the order
    # the two 6,000 loans tie on what is outstanding: the loan id decides
    assert order("/loans/late?on=2025-06-01&sort=-outstanding") == [ids[0], ids[2]]
    assert order("/loans/late?on=2025-06-01&sort=outstanding") == [ids[1], ids[0]]


def _referrals_to_hefboom(count):
    from core.api.schemas import ReferralIn
    from core.services import referrals, referrers
    from tests.referral_helpers import body

    issued = referrers.add_referrer(name="Sorting bank", kind="bank")
    for n in range(count):
        referrals.receive(issued.referrer, ReferralIn.model_validate(body(**{
            "external_reference": f"SORT-{n}", "applicant.first_name": f"Applicant{n}",
            "applicant.last_name": f"Sorted{n}", "applicant.birth_date": f"199{n}-01-01"})))


def test_referral_inbox_sorts_by_received_and_deadline(app, client, staff_b, as_user):
    from core.models.referrals import ReferralOffer

    _referrals_to_hefboom(6)  # the registry may route some elsewhere
    with acting_for(staff_b.institution_id):
        offers = list(db.session.scalars(select(ReferralOffer).order_by(ReferralOffer.id)))
        assert len(offers) >= 3
        # the oldest received gets the latest deadline; the others share one
        for n, offer in enumerate(offers):
            offer.deadline = clock.today() + timedelta(days=9 if n == 0 else 3)
        db.session.commit()
        ids = [o.id for o in offers]
    as_user(staff_b.officer)

    def order(path):
        return [int(i) for i in re.findall(r'id="offer-(\d+)"', client.get(path).get_data(as_text=True))]

    assert order("/referrals/") == ids[1:] + ids[:1]  # deadline, ties by id
    assert order("/referrals/?sort=-deadline") == ids[:1] + list(reversed(ids[1:]))
    assert order("/referrals/?sort=-received") == list(reversed(ids))
    assert order("/referrals/?sort=received&closed=1") == ids


def test_audit_trail_sorts_oldest_first_with_its_own_pages(app, client, staff_a, as_user):
    for n in range(3):
        make_client(staff_a, last_name=f"Audited{n}", national_number=None)
    as_user(staff_a.admin)
    newest = client.get("/admin/audit?record_type=clients").get_data(as_text=True)
    oldest = client.get("/admin/audit?record_type=clients&sort=at").get_data(as_text=True)
    rows = re.findall(r"Client #(\d+)", newest)
    assert rows and re.findall(r"Client #(\d+)", oldest) == list(reversed(rows))
    assert 'aria-sort="ascending"' in oldest and 'aria-sort="descending"' in newest


# --- saved filters ----------------------------------------------------------------------------

def test_save_list_use_and_delete_a_filter(app, client, staff_a, as_user):
    _clients(staff_a, [("Zeta", "starter", None), ("Alpha", "project", None)])
    as_user(staff_a.officer)
    page = "/clients/?stage=starter&sort=-created_at&after=5:x"
    response = post(client, "/saved-filters/", {"list": "clients", "name": "  My   starters ",
                                                "stage": "starter", "sort": "-created_at", "after": "5:x",
                                                "q": ""}, token_from=page)
    assert response.status_code == 303
    assert response.headers["Location"] == "/clients/?stage=starter&sort=-created_at"
    html = client.get("/clients/").get_data(as_text=True)
    assert "Filter “My starters” saved." in html
    with acting_for(staff_a.institution_id):
        saved = db.session.scalar(select(SavedFilter))
    assert (saved.name, saved.query, saved.user_id) == ("My starters", "stage=starter&sort=-created_at",
                                                        staff_a.officer.id)
    assert f'href="/saved-filters/{saved.id}">My starters</a>' in html
    used = client.get(f"/saved-filters/{saved.id}")
    assert used.status_code == 303 and used.headers["Location"] == "/clients/?stage=starter&sort=-created_at"
    assert _names(client.get(used.headers["Location"]).get_data(as_text=True)) == ["Zeta, F0"]
    # the same name again replaces the query; a blank name is refused and nothing saved
    post(client, "/saved-filters/", {"list": "clients", "name": "My starters", "stage": "project"})
    assert "Give the filter a name." in client.get(post(client, "/saved-filters/", {
        "list": "clients", "name": " "}).headers["Location"]).get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        assert db.session.scalars(select(SavedFilter.query)).all() == ["stage=project"]
    deleted = post(client, f"/saved-filters/{saved.id}/delete", {}, headers={"Referer": "http://localhost/clients/?stage=project"})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/clients/?stage=project"
    with acting_for(staff_a.institution_id):
        assert db.session.scalar(select(func.count()).select_from(SavedFilter)) == 0


def test_saved_filter_from_htmx_live_filters_loads_the_page(app, client, staff_a, as_user):
    as_user(staff_a.officer)
    response = post(client, "/saved-filters/", {"list": "clients", "name": "Care", "sector": "care"},
                    headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/clients/?sector=care"


def test_saved_filters_of_every_list_page(app, client, staff_a, as_user):
    as_user(staff_a.admin)
    for list_key, path in (("loans", "/loans/queue"), ("late", "/loans/late?on=2025-06-01"),
                           ("referrals", "/referrals/"), ("audit", "/admin/audit")):
        assert 'id="saved-filters"' in client.get(path).get_data(as_text=True), path
        response = post(client, "/saved-filters/", {"list": list_key, "name": f"View {list_key}", "sort": "x"})
        assert response.status_code == 303 and response.headers["Location"] == path.split("?")[0] + "?sort=x"
        assert f"View {list_key}</a>" in client.get(path).get_data(as_text=True)
    assert post(client, "/saved-filters/", {"list": "nonsense", "name": "n"}).status_code == 404


def test_saved_filters_are_the_users_own(app, client, staff_a, staff_b, as_user):
    from core.services import saved_filters

    with acting_for(staff_a.institution_id):
        colleague = saved_filters.save("clients", "Colleague's view", [("stage", "project")], user=staff_a.coach)
    with acting_for(staff_b.institution_id):
        other = saved_filters.save("clients", "Other institution's view", [("stage", "project")],
                                   user=staff_b.officer)
    as_user(staff_a.officer)
    html = client.get("/clients/").get_data(as_text=True)
    assert "Colleague's view" not in html and "Other institution's view" not in html
    for found in (colleague, other):
        assert client.get(f"/saved-filters/{found.id}").status_code == 404
        assert post(client, f"/saved-filters/{found.id}/delete", {}).status_code == 404
    with all_institutions("test counts saved filters"):
        assert db.session.scalar(select(func.count()).select_from(SavedFilter)) == 2
    # a coach cannot save (or use) a filter of the audit trail, which is the admins'
    coach = app.test_client()
    login(coach, staff_a.coach)
    assert post(coach, "/saved-filters/", {"list": "audit", "name": "Sneaky"}).status_code == 404


# --- bulk actions -----------------------------------------------------------------------------

def _bulk(client, data, referrer="http://localhost/clients/?stage=project"):
    return client.post("/clients/bulk", data={**data, "csrf_token": csrf_token(client, "/clients/")},
                       headers={"Referer": referrer})


def _coaches_of(staff, ids):
    with acting_for(staff.institution_id):
        db.session.expire_all()
        return [db.session.get(Client, i).coach_id for i in ids]


def _audit_count(staff, action=None):
    with acting_for(staff.institution_id):
        query = select(func.count()).select_from(AuditEntry)
        if action:
            query = query.where(AuditEntry.action == action)
        return db.session.scalar(query)


def test_bulk_assign_coach(app, client, staff_a, as_user):
    made = _clients(staff_a, [("A", "project", None), ("B", "project", None), ("C", "project", None)])
    ids = [c.id for c in made]
    as_user(staff_a.officer)
    before = _audit_count(staff_a)
    response = _bulk(client, {"action": "assign_coach", "coach_id": staff_a.coach.id, "ids": ids})
    assert response.status_code == 303 and response.headers["Location"] == "/clients/?stage=project"
    assert f"{staff_a.coach.name} is now the coach of 3 clients." in client.get("/clients/").get_data(as_text=True)
    assert _coaches_of(staff_a, ids) == [staff_a.coach.id] * 3
    assert _audit_count(staff_a) == before + 3  # one update entry per client
    again = _bulk(client, {"action": "assign_coach", "coach_id": staff_a.coach.id, "ids": ids[:1]})
    assert "is now the coach of 0 clients. 1 was already so" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_bulk_refuses_an_empty_selection_other_institutions_clients_and_coaches(app, client, staff_a, staff_b,
                                                                              as_user):
    mine = [c.id for c in _clients(staff_a, [("A", "project", None), ("B", "project", None)])]
    theirs = make_client(staff_b, last_name="Theirs", national_number=None).id
    training_b = make_training(staff_b, title="Their training", capacity=10)
    as_user(staff_a.officer)
    before = _audit_count(staff_a)

    empty = _bulk(client, {"action": "assign_coach", "coach_id": staff_a.coach.id})
    assert empty.status_code == 422
    assert "Select at least one client first: nothing was changed." in empty.get_data(as_text=True)

    too_many = _bulk(client, {"action": "assign_coach", "coach_id": staff_a.coach.id,
                              "ids": [str(n) for n in range(1, 502)]})
    assert too_many.status_code == 422 and "Select at most 500 clients at once" in too_many.get_data(as_text=True)
    assert _bulk(client, {"action": "assign_coach", "coach_id": staff_a.coach.id,
                          "ids": [mine[0], "1 OR 1=1"]}).status_code == 422

    crossed = _bulk(client, {"action": "assign_coach", "coach_id": staff_a.coach.id, "ids": [*mine, theirs]})
    html = crossed.get_data(as_text=True)
    assert crossed.status_code == 422
    assert "1 selected client is not a client of your institution: nothing was changed." in html
    assert f'value="{mine[0]}" form="client-bulk" class="select-row" aria-label="Select A, F0" checked' in html
    assert _coaches_of(staff_a, mine) == [None, None]

    foreign_coach = _bulk(client, {"action": "assign_coach", "coach_id": staff_b.coach.id, "ids": mine})
    assert foreign_coach.status_code == 422
    assert "Choose a coach of your institution." in foreign_coach.get_data(as_text=True)
    assert _coaches_of(staff_a, mine) == [None, None]

    for data in ({"action": "enrol", "training_id": training_b.id, "ids": mine},
                 {"action": "enrol", "training_id": "", "ids": mine},
                 {"action": "export", "format": "csv", "ids": [*mine, theirs]},
                 {"action": "export", "format": "pdf", "ids": mine},
                 {"action": "", "ids": mine}):
        assert _bulk(client, data).status_code == 422, data
    with all_institutions("test counts enrolments"):
        assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0
        assert db.session.get(Client, theirs).coach_id is None
    assert _audit_count(staff_a) == before


def test_bulk_add_to_a_training(app, client, staff_a, as_user):
    ids = [c.id for c in _clients(staff_a, [("A", "project", None), ("B", "project", None),
                                             ("C", "project", None)])]
    training = make_training(staff_a, title="Pitching", capacity=3)
    small = make_training(staff_a, title="Tiny", capacity=2)
    as_user(staff_a.coach)
    assert "Pitching (" in client.get("/clients/").get_data(as_text=True)
    full = _bulk(client, {"action": "enrol", "training_id": small.id, "ids": ids})
    assert full.status_code == 422 and "2 free places left" in full.get_data(as_text=True)
    done = _bulk(client, {"action": "enrol", "training_id": training.id, "ids": ids[:2]})
    assert "2 clients enrolled in “Pitching”." in client.get(done.headers["Location"]).get_data(as_text=True)
    again = _bulk(client, {"action": "enrol", "training_id": training.id, "ids": ids})
    assert "1 client enrolled in “Pitching”. 2 were already so" in client.get(
        again.headers["Location"]).get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        enrolled = db.session.scalars(select(Enrolment.client_id).where(Enrolment.training_id == training.id))
        assert sorted(enrolled) == sorted(ids)


def test_bulk_export_of_the_selection_neutralises_formulas_and_is_audited(app, client, staff_a, as_user):
    from openpyxl import load_workbook

    made = _clients(staff_a, [("=HYPERLINK(1)", "project", None), ("Plain", "project", None),
                              ("Left out", "project", None)])
    as_user(staff_a.officer)
    response = _bulk(client, {"action": "export", "format": "csv", "ids": [made[1].id, made[0].id]})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Client number", "Last name", "First name"]  # as the list export writes them
    assert [r[1] for r in rows[1:]] == ["Plain", "'=HYPERLINK(1)"]
    assert "Hotels, restaurants, cafés" in " ".join(rows[1])  # codes written as their labels
    assert _audit_count(staff_a, "list-export") == 2
    xlsx = _bulk(client, {"action": "export", "format": "xlsx", "ids": [made[0].id]})
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    cell = sheet.cell(row=2, column=2)
    assert cell.value == "=HYPERLINK(1)" and cell.data_type == "s"


def test_the_list_page_offers_the_bulk_form_and_row_checkboxes(app, client, staff_a, as_user):
    _clients(staff_a, [("A", "project", None)])
    as_user(staff_a.officer)
    html = client.get("/clients/").get_data(as_text=True)
    assert 'id="client-bulk"' in html and 'data-select-all="client-bulk"' in html
    assert 'name="ids"' in html and 'form="client-bulk"' in html
    assert staff_a.coach.name in html.split('id="bulk-coach"')[1].split("</select>")[0]
