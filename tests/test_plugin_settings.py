"""Plugin settings: stored per institution, audited, edited by the institution's admin with typed
validation (errors next to the field, what was typed kept, nothing written on error)."""
from decimal import Decimal

import pytest

from sqlalchemy import func, select

from core.extensions import db
from core.models import AuditEntry, ClientFieldValue, LoanFieldValue, PluginSetting
from core.services import plugin_settings
from core.services.plugin_fields import client_fields, loan_fields
from core.services.errors import ValidationFailed
from core.tenancy import acting_for, all_institutions
from tests.conftest import post

MICROSTART_FORM = {
    "jump_rate": "12.13", "boost_rate": "11.13", "min_amount": "500", "max_amount": "25000",
    "young_business_max_amount": "15000", "max_term_months": "48", "guarantor_required": "y",
    "honour_loan_divisor": "3", "honour_loan_base": "microloan", "honour_loan_max_deferral_months": "24",
    "prepayment_indemnity_months": "0",
    "late_notice_days": "7",
    "retention_years": "10",
    "followup_months": "6,12,24,36",
}


def _rows():
    with all_institutions("test counts every institution's settings"):
        return db.session.scalar(select(func.count()).select_from(PluginSetting))


def test_defaults_apply_until_saved(app, staff_a):
    with acting_for(staff_a.institution_id):
        values = plugin_settings.effective()
        assert values["jump_rate"] == Decimal("12.13") and values["max_term_months"] == 48
        assert [p.code for p in plugin_settings.products()] == ["jump", "boost"]


def test_admin_sees_the_settings_in_the_menu_and_the_page(as_user, staff_a):
    client = as_user(staff_a.admin)
    assert "/admin/settings" in client.get("/").get_data(as_text=True)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="jump_rate"' in page and 'value="12.13"' in page and "Jump" in page


def test_officers_and_coaches_may_not_edit_settings(client, as_user, staff_a):
    as_user(staff_a.officer)
    assert client.get("/admin/settings").status_code == 403
    assert post(client, "/admin/settings", MICROSTART_FORM).status_code == 403
    assert _rows() == 0


def test_saving_stores_typed_values_audited_and_changes_the_products(as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, "/admin/settings", {**MICROSTART_FORM, "jump_rate": "12,50",
                                                "max_term_months": "60"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Settings saved." in response.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        assert plugin_settings.effective()["jump_rate"] == Decimal("12.50")
        jump = next(p for p in plugin_settings.products() if p.code == "jump")
        assert jump.annual_rate == Decimal("12.50") and jump.max_term_months == 60
        row = db.session.scalar(select(PluginSetting).where(PluginSetting.key == "jump_rate"))
        assert row.value == "12.50"
        trail = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "plugin_settings")).all()
        assert trail and trail[0].actor == staff_a.admin.email


def test_a_value_of_the_wrong_type_is_refused_next_to_its_field(as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, "/admin/settings", {**MICROSTART_FORM, "jump_rate": "twelve",
                                                "max_term_months": "4.5"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="jump_rate-error"' in page and "Enter a number, such as 12.5." in page
    assert 'id="max_term_months-error"' in page and "Enter a whole number." in page
    assert 'value="twelve"' in page and 'value="4.5"' in page  # what was typed stays
    assert _rows() == 0


def test_out_of_range_and_bad_choice_are_refused(as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, "/admin/settings", {**MICROSTART_FORM, "honour_loan_divisor": "0",
                                                "honour_loan_base": "everything"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter 1 or more." in page and "Choose one of the options." in page
    assert _rows() == 0


def test_values_giving_an_invalid_product_are_refused_whole(as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, "/admin/settings", {**MICROSTART_FORM, "min_amount": "30000"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "min_amount 30000 is above max_amount 25000" in page
    assert _rows() == 0


def test_french_labels_and_errors(as_user, staff_a, client):
    as_user(staff_a.admin)
    client.post("/language", data={"lang": "fr", "next": "/", "csrf_token": _token(client)})
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Jump : taux annuel (%)" in page and "<h1>Paramètres de l" in page
    response = post(client, "/admin/settings", {**MICROSTART_FORM, "jump_rate": "x"})
    assert "Saisissez un nombre" in response.get_data(as_text=True)


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client, "/")


def test_settings_of_one_institution_do_not_reach_another(as_user, staff_a, staff_b):
    client = as_user(staff_a.admin)
    post(client, "/admin/settings", {**MICROSTART_FORM, "jump_rate": "13"})
    with acting_for(staff_b.institution_id):
        assert plugin_settings.effective() == {"referral_language_required": False, "late_notice_days": 7,
                                               "retention_years": 10, "serves_brussels": False}
        assert db.session.scalars(select(PluginSetting)).all() == []


def test_hefboom_admin_widens_the_regions(as_user, staff_b):
    client = as_user(staff_b.admin)
    assert post(client, "/admin/settings", {"serves_brussels": "y", "late_notice_days": "7",
                                                     "retention_years": "10"}).status_code == 200
    with acting_for(staff_b.institution_id):
        from core.plugin_api import ReferralFacts
        profile = plugin_settings.current_profile()
        facts = ReferralFacts(postal_code="1000", language="nl", amount=Decimal("5000"), stage="starter",
                              sector="services", purpose="investment", collective_debt_settlement=False,
                              undischarged_bankruptcy=False)
        assert profile.assess_referral(facts, plugin_settings.effective()).code == "accept"
        assert profile.assess_referral(facts).code == "region_not_served"


def test_client_fields_are_stored_by_client_id_and_filter(app):
    from core.services.institutions import by_slug

    credal = by_slug("credal").id
    with app.test_request_context(), acting_for(credal):
        assert [f.key for f in client_fields.declared()] == ["affaires_de_femmes"]
        client_fields.save(41, {"affaires_de_femmes": "y"})
        client_fields.save(42, {"affaires_de_femmes": ""})
        assert client_fields.values_of(41) == {"affaires_de_femmes": True}
        assert client_fields.ids_where("affaires_de_femmes", True) == [41]
        with pytest.raises(ValidationFailed) as failed:
            client_fields.save(43, {"affaires_de_femmes": "maybe"})
        assert failed.value.errors == {"affaires_de_femmes": "Answer yes or no."}
        assert db.session.scalar(select(func.count()).select_from(ClientFieldValue)) == 2
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "client_field_values")).first()
        assert entry.changes["value"] == "(secret)"
    with acting_for(by_slug("microstart").id):
        assert client_fields.declared() == [] and client_fields.values_of(41) == {}


def test_client_field_form_renders_crédal_programme_in_french(app):
    from flask import render_template_string
    from flask_babel import force_locale

    from core.services.institutions import by_slug
    from core.web.typed_forms import form_for

    with app.test_request_context(), acting_for(by_slug("credal").id), force_locale("fr"):
        form = form_for(client_fields.declared(), {"affaires_de_femmes": True})
        html = render_template_string('{% from "_macros.html" import field %}{{ field(form.affaires_de_femmes) }}',
                                      form=form)
    assert "Programme « Affaires de femmes »" in html and 'type="checkbox"' in html and "checked" in html


def test_loan_fields_are_declared_validated_and_stored_by_loan_id(app, staff_a):
    from core.plugin_api import LoanField, texts
    from core.plugins import state
    from plugins.microstart.institution import MicroStart

    class WithLoanFields(MicroStart):
        def loan_fields(self):
            return [LoanField("funding_line", "choice", texts("Funding line", "Financieringslijn", "Ligne de financement"),
                              choices=("eif", "own"), required=True)]

    state(app).institutions["microstart"] = WithLoanFields()
    assert WithLoanFields().problems() == []
    with app.test_request_context(), acting_for(staff_a.institution_id):
        with pytest.raises(ValidationFailed) as failed:
            loan_fields.save(7, {"funding_line": ""})
        assert failed.value.errors == {"funding_line": "This field is required."}
        with pytest.raises(ValidationFailed):
            loan_fields.save(7, {"funding_line": "bank"})
        assert db.session.scalar(select(func.count()).select_from(LoanFieldValue)) == 0
        loan_fields.save(7, {"funding_line": "eif"})
        loan_fields.save(7, {"funding_line": "own"})
        assert loan_fields.values_of(7) == {"funding_line": "own"}
        assert loan_fields.ids_where("funding_line", "own") == [7]
        assert db.session.scalar(select(func.count()).select_from(LoanFieldValue)) == 1


def test_a_bad_loan_field_declaration_is_named():
    from core.plugin_api import LoanField, texts
    from plugins.brusoc.institution import Brusoc

    class Bad(Brusoc):
        def loan_fields(self):
            return [LoanField("purpose", "colour", texts("P", "P", "P"))]

    assert Bad().problems() == ["loan field purpose: type 'colour' is not one of int, decimal, bool, str, choice"]
