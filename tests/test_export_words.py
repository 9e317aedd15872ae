"""Exports for people (issue 15, point 3): translated column titles and code labels in the reader's
language, with the code kept in a column of its own beside each label."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from core.services import export_words
from tests.clients_data import make_client
from tests.conftest import login, post


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _signed_in(app, user, language):
    client = app.test_client()
    login(client, user)
    post(client, "/language", {"lang": language})
    return client


IMPACT = {
    "nl": (["Tabel", "Tabel (code)", "Uitsplitsing", "Uitsplitsing (code)"], ["Impact", "impact", "Doelgroepen",
                                                                        "target_groups", "Vrouwen", "women"]),
    "fr": (["Tableau", "Tableau (code)", "Ventilation", "Ventilation (code)"], ["Impact", "impact", "Groupes cibles",
                                                                       "target_groups", "Femmes", "women"]),
}


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_impact_export_speaks_the_readers_language_and_keeps_the_codes(app, staff_a, language):
    client = _signed_in(app, staff_a.officer, language)
    rows = _csv(client.get("/reports/impact?format=csv").data)
    titles, women = IMPACT[language]
    assert rows[0][:4] == titles
    assert women in [row[:6] for row in rows]
    book = load_workbook(io.BytesIO(client.get("/reports/impact?format=xlsx").data))
    assert "impact" not in book.sheetnames and "Impact" in book.sheetnames
    with app.test_request_context():
        english = {str(export_words.COLUMN_TITLES[k]) for k in ("section", "key", "persons", "amount")}
    assert not english & {cell.value for cell in book["Impact"][1]}


def test_the_client_export_in_dutch_has_dutch_titles_and_labels_beside_the_codes(app, staff_a):
    make_client(staff_a, last_name="Peeters", national_number="", sector="care", gender="female")
    client = _signed_in(app, staff_a.officer, "nl")
    started = post(client, "/clients/exports", {"format": "csv"}, token_from="/clients/",
                   headers={"HX-Request": "true"})
    export_url = re.search(r'hx-get="(/clients/exports/\d+)"', started.get_data(as_text=True)).group(1)
    for _ in range(3):
        client.get(export_url, headers={"HX-Request": "true"})
    header, row = _csv(client.get(export_url + "/download").data)[:2]
    cells = dict(zip(header, row))
    assert cells["Achternaam"] == "Peeters"
    assert (cells["Gender"], cells["Gender (code)"]) == ("Vrouw", "female")
    assert (cells["Sector"], cells["Sector (code)"]) == ("Zorg", "care")
    assert "last_name" not in header and "Last name" not in header


def test_the_audit_export_in_french_says_what_happened_in_words(app, staff_a):
    make_client(staff_a, last_name="Dupont", national_number="")
    client = _signed_in(app, staff_a.admin, "fr")
    rows = _csv(client.get("/admin/audit.csv?record_type=clients").data)
    assert rows[0][:5] == ["Entrée", "Quand", "Qui", "Quoi", "Quoi (code)"]
    created = next(row for row in rows[1:] if row[4] == "create")
    assert created[3] != "create" and created[6] == "clients" and created[5] != "clients"
    assert "Dupont" in created[8] and '"last_name"' in created[9]
