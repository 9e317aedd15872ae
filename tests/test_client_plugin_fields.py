"""Plugin-declared client fields on the client form, page and list (Crédal's women's programme)."""
from sqlalchemy import func, select

from core.extensions import db
from core.models.people import Client
from core.tenancy import acting_for
from tests.clients_data import client_data, make_client
from tests.conftest import make_staff, post


def _form(**overrides):
    data = client_data(**overrides)
    data.update(birth_date=data["birth_date"].isoformat(), enterprise_start_date="", coach_id="",
                household_size=str(data["household_size"]))
    return {k: ("y" if v is True else v) for k, v in data.items() if v not in (None, False)}


def test_credal_client_gets_the_womens_programme_field_and_filter(app, as_user):
    credal = make_staff("credal")
    officer = as_user(credal.officer)
    page = officer.get("/clients/new").get_data(as_text=True)
    assert 'name="field-affaires_de_femmes"' in page and "Affaires de femmes" in page
    saved = post(officer, "/clients/new", {**_form(), "field-affaires_de_femmes": "y"}, token_from="/clients/new")
    assert saved.status_code == 303
    other = make_client(credal, first_name="Jean", last_name="Martin", national_number="")
    shown = officer.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'id="institution-field-values"' in shown and "Yes" in shown
    in_programme = officer.get("/clients/?field-affaires_de_femmes=yes").get_data(as_text=True)
    assert "El Idrissi" in in_programme and "Martin" not in in_programme
    not_in = officer.get("/clients/?field-affaires_de_femmes=no").get_data(as_text=True)
    assert "Martin" in not_in and "El Idrissi" not in not_in
    assert other.id


def test_other_institutions_do_not_get_the_field(app, as_user, staff_a):
    page = as_user(staff_a.officer).get("/clients/new").get_data(as_text=True)
    assert "affaires_de_femmes" not in page


def test_a_bad_declared_value_keeps_everything_and_writes_nothing(app, as_user, monkeypatch):
    from core.plugin_api import ClientField, texts
    from plugins.credal.institution import Credal

    monkeypatch.setattr(Credal, "client_fields", lambda self: [
        ClientField("mentor_hours", "int", texts("Mentor hours", "Mentoruren", "Heures de mentorat"))])
    credal = make_staff("credal")
    officer = as_user(credal.officer)
    answer = post(officer, "/clients/new", {**_form(first_name="Typed"), "field-mentor_hours": "lots"},
                  token_from="/clients/new")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'value="lots"' in body and 'value="Typed"' in body
    with acting_for(credal.institution_id):
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_a_plugin_reads_and_writes_its_fields_and_settings_through_plugin_api_alone(app):
    from core import plugin_api
    from core.services import plugin_fields, plugin_settings

    credal = make_staff("credal")
    client = make_client(credal, national_number="")
    with acting_for(credal.institution_id):
        plugin_api.save_field_values("client", client.id, {"affaires_de_femmes": "y"})
        assert plugin_api.field_values("client", client.id) == plugin_fields.client_fields.values_of(client.id)
        assert plugin_api.field_values("client", client.id)["affaires_de_femmes"] is True
        assert plugin_api.records_where("client", "affaires_de_femmes", True) == [client.id]
        assert plugin_api.settings_now() == plugin_settings.effective()
    try:
        plugin_api.field_values("referral", client.id)
    except ValueError as error:
        assert "'client' or 'loan'" in str(error)
    else:
        raise AssertionError("an unknown kind must be refused")
