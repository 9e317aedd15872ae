"""The referral API as a bank would use it: real HTTP through the test client."""
import json

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models.referrals import Referral, ReferralOffer
from core.services import referrers as referrer_service
from core.tenancy import all_institutions
from tests.referral_helpers import auth, body, make_referrer, send

VALID_NN = "90041200105"  # a valid national number for 1990-04-12 (checked by stdnum below)


def _count():
    return db.session.scalar(select(func.count()).select_from(Referral))


def _offers():
    with all_institutions("test"):
        return db.session.scalar(select(func.count()).select_from(ReferralOffer))


@pytest.fixture
def bank(app):
    return make_referrer()


def test_valid_national_number_fixture():
    from stdnum.be import nn

    assert nn.is_valid(VALID_NN)


def test_create_routes_to_an_institution(client, bank):
    _, token = bank
    response = send(client, token, body())
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "offered"
    assert answer["institution"]["slug"] == "hefboom"  # Ghent, Dutch: speaks nl, alphabetical before microstart
    assert answer["contact_deadline"] and answer["stages"]["received_at"]
    assert _count() == 1 and _offers() == 1


def test_same_key_same_body_replays_the_answer(client, bank):
    _, token = bank
    first = send(client, token, body())
    second = send(client, token, body())
    assert second.status_code == 201 and second.get_json() == first.get_json()
    assert _count() == 1


def test_same_key_other_body_is_refused(client, bank):
    _, token = bank
    send(client, token, body())
    other = send(client, token, body(**{"project.amount_requested": "9000.00"}))
    assert other.status_code == 422 and other.mimetype == "application/problem+json"
    assert other.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert _count() == 1


def test_missing_idempotency_key(client, bank):
    _, token = bank
    response = client.post("/api/v1/referrals", json=body(), headers=auth(token))
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("changes, field", [
    ({"applicant.national_number": "12345678901"}, "applicant.national_number"),
    ({"consent": None}, "consent"),
    ({"consent.given_at": "2999-01-01T10:00:00+01:00"}, "consent.given_at"),
    ({"applicant.birth_date": "2015-01-01"}, "applicant.birth_date"),
    ({"applicant.birth_date": "1900-01-01"}, "applicant.birth_date"),
    ({"applicant.postal_code": "75001"}, "applicant.postal_code"),
    ({"applicant.postal_code": "0999"}, "applicant.postal_code"),
    ({"project.amount_requested": "0"}, "project.amount_requested"),
    ({"project.amount_requested": "1000000.01"}, "project.amount_requested"),
    ({"project.amount_requested": "10.001"}, "project.amount_requested"),
    ({"project.sector": "mining"}, "project.sector"),
    ({"project.enterprise_number": "0123456789"}, "project.enterprise_number"),
    ({"applicant.language": "es"}, "applicant.language"),
    ({"refusal.reasons": []}, "refusal.reasons"),
    ({"applicant.is_admin": True}, "applicant.is_admin"),
    ({"status": "financed"}, "status"),
    ({"applicant.email": "jean@@example"}, "applicant.email"),
    ({"applicant.email": "jean@example..be"}, "applicant.email"),
    ({"applicant.phone": "abc"}, "applicant.phone"),
    ({"applicant.phone": "0470 12"}, "applicant.phone"),
])
def test_invalid_bodies_name_the_field_and_store_nothing(client, bank, changes, field):
    _, token = bank
    response = send(client, token, body(**changes))
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert _count() == 0


def test_the_applicants_phone_is_stored_as_e164(client, bank):
    _, token = bank
    response = send(client, token, body(**{"applicant.phone": "0470/12.34.56", "applicant.email": "Sofie@EXAMPLE.be"}))
    assert response.status_code == 201, response.get_json()
    referral = db.session.scalar(select(Referral))
    assert referral.applicant_phone == "+32470123456" and referral.applicant_email == "Sofie@example.be"


def test_array_where_an_object_belongs(client, bank):
    _, token = bank
    response = send(client, token, [body()])
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "body"
    applicant_list = send(client, token, body(applicant=[1, 2]), key="k2")
    assert applicant_list.status_code == 422 and applicant_list.get_json()["errors"][0]["field"] == "applicant"


def test_invalid_utf8_and_malformed_json(client, bank):
    _, token = bank
    headers = {**auth(token), "Idempotency-Key": "k", "Content-Type": "application/json"}
    bad_bytes = client.post("/api/v1/referrals", data=b'{"a": "\xff\xfe"}', headers=headers)
    assert bad_bytes.status_code == 400 and "UTF-8" in bad_bytes.get_json()["detail"]
    malformed = client.post("/api/v1/referrals", data=b'{"a": ', headers=headers)
    assert malformed.status_code == 400 and malformed.mimetype == "application/problem+json"
    assert _count() == 0


def test_huge_strings_are_refused_before_parsing(client, bank):
    _, token = bank
    response = send(client, token, body(**{"project.purpose": "x" * 10_000_000}))
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert _count() == 0


def test_wrong_content_type(client, bank):
    _, token = bank
    response = client.post("/api/v1/referrals", data="x=1", headers={**auth(token), "Idempotency-Key": "k",
                                                                     "Content-Type": "text/plain"})
    assert response.status_code == 415


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer mfr_guessed"])
def test_no_or_bad_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/referrals", headers=headers)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401_and_a_second_token_works(client, bank):
    referrer, token = bank
    second = referrer_service.issue_token(referrer.name).secret
    referrer_service.revoke_token(token[:10])
    assert client.get("/api/v1/referrals", headers=auth(token)).status_code == 401
    assert client.get("/api/v1/referrals", headers=auth(second)).status_code == 200


def test_someone_elses_referral_is_404(client, bank):
    _, token = bank
    created = send(client, token, body()).get_json()
    _, other = make_referrer("Public Beta", "public")
    assert client.get(f"/api/v1/referrals/{created['id']}", headers=auth(other)).status_code == 404
    assert client.post(f"/api/v1/referrals/{created['id']}/withdraw", headers=auth(other)).status_code == 404
    assert client.get(f"/api/v1/referrals/{created['id']}", headers=auth(token)).get_json()["status"] == "offered"


def test_read_back_and_list_with_cursor(client, bank):
    _, token = bank
    ids = [send(client, token, body(external_reference=f"R{i}", **{"applicant.first_name": f"N{i}"}),
                key=f"k{i}").get_json()["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        url = "/api/v1/referrals?limit=2&updated_since=2020-01-01T00:00:00Z" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth(token)).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    bad = client.get("/api/v1/referrals?updated_since=yesterday&limit=0", headers=auth(token))
    assert bad.status_code == 422 and {e["field"] for e in bad.get_json()["errors"]} == {"updated_since", "limit"}
    assert client.get("/api/v1/referrals?cursor=%%%", headers=auth(token)).status_code == 422


def test_withdraw_erases_personal_data_and_stops_the_institution(client, bank):
    _, token = bank
    created = send(client, token, body(**{"applicant.national_number": "90.04.12-001.05"})).get_json()
    answer = client.post(f"/api/v1/referrals/{created['id']}/withdraw", headers=auth(token)).get_json()
    assert answer["status"] == "withdrawn"
    with all_institutions("test"):
        referral = db.session.get(Referral, created["id"])
        assert referral.applicant_last_name is None and referral.applicant_email is None
        assert referral.national_number_hash is None and referral.erased_at is not None
        assert referral.amount_requested is not None  # the coded need stays for the anonymous funnel
        assert {o.state for o in referral.offers} == {"withdrawn"}


def test_the_same_applicant_is_linked_to_the_open_case(client, bank):
    _, token = bank
    first = send(client, token, body(**{"applicant.national_number": VALID_NN})).get_json()
    _, other = make_referrer("Wallonie Entreprendre", "public")
    second = send(client, other, body(external_reference="WE-1", **{"applicant.first_name": "Sophie",
                                                                    "applicant.national_number": VALID_NN}))
    answer = second.get_json()
    assert answer["status"] == "linked" and answer["linked_to"] == first["id"]
    by_name = send(client, other, body(external_reference="WE-2", **{"applicant.last_name": "PEETERS"}), key="k2")
    assert by_name.get_json()["status"] == "linked"
    assert _offers() == 1


def test_reference_reused_with_another_key(client, bank):
    _, token = bank
    send(client, token, body())
    again = send(client, token, body(**{"applicant.first_name": "Other"}), key="key-2")
    assert again.status_code == 422 and again.get_json()["errors"][0]["field"] == "external_reference"


def test_rate_limit_answers_429(make_app, bank):
    app = make_app(MICROFIN_API_RATE_LIMIT="3/minute")
    _, token = bank
    with app.app_context():
        client = app.test_client()
        codes = [client.get("/api/v1/referrals", headers=auth(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_rate_limit_counts_per_referrer_across_endpoints(make_app, bank):
    """docs/deploy.md: API requests per referrer organisation. Two referrers behind one address
    each have their own allowance, and one referrer's calls to different endpoints share it."""
    app = make_app(MICROFIN_API_RATE_LIMIT="3/minute")
    _, token = bank
    with app.app_context():
        _, other = make_referrer("Bank Beta")
    with app.app_context():
        client = app.test_client()
        mine = [client.get("/api/v1/referrals", headers=auth(token)).status_code,
                client.get("/api/v1/referrals/999", headers=auth(token)).status_code]
        theirs = [client.get("/api/v1/referrals", headers=auth(other)).status_code for _ in range(3)]
        mine += [client.get("/api/v1/referrals?limit=1", headers=auth(token)).status_code,
                 client.get("/api/v1/referrals", headers=auth(token)).status_code]
    assert theirs == [200, 200, 200]
    assert mine == [200, 404, 200, 429]


def test_openapi_document_comes_from_the_schemas(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    schema = document["components"]["schemas"]["Applicant"]
    assert schema["additionalProperties"] is False
    assert "national_number" in schema["properties"]
    assert set(document["paths"]) == {"/referrals", "/referrals/{referral_id}", "/referrals/{referral_id}/withdraw"}
