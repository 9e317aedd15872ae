"""Every string in nl, fr and en; the language switch; translated error pages."""
import importlib.util
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo

from tests.conftest import csrf_token, login, post

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
i18n = importlib.util.module_from_spec(spec)
spec.loader.exec_module(i18n)


def test_catalogues_hold_every_string_of_the_source(tmp_path):
    pot = tmp_path / "current.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    source_ids = {m.id for m in i18n.load(pot) if m.id}
    for language in i18n.LANGUAGES:
        catalogue_ids = {m.id for m in i18n.load(i18n.po_path(language)) if m.id}
        missing = source_ids - catalogue_ids
        assert not missing, f"run scripts/i18n.py update, then translate: {sorted(missing)[:5]}"


def test_every_string_is_translated():
    assert i18n.missing() == [], "run: python scripts/i18n.py missing"


def _key(value):
    """A plural message's id and strings are lists in one reader and tuples in the other."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_dutch_addresses_the_user_formally():
    """One form of address: "u"/"uw", never "je", "jij", "jouw", "jou" or "jullie" (issue 15, point 4)."""
    import re
    informal = re.compile(r"\b(je|jij|jouw|jou|jezelf|jullie)\b", re.IGNORECASE)
    found = []
    for message in i18n.load(i18n.po_path("nl")):
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        found += [text for text in strings if message.id and text and informal.search(text)]
    assert found == [], f"write these with u/uw: {found[:5]}"


def test_compiled_catalogues_match_the_po_files():
    for language in i18n.LANGUAGES:
        po = {_key(m.id): _key(m.string) for m in i18n.load(i18n.po_path(language)) if m.id}
        with i18n.po_path(language).with_suffix(".mo").open("rb") as handle:
            mo = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
        assert po == mo, "run: python scripts/i18n.py compile"


def test_language_switch_before_sign_in(client):
    token = csrf_token(client)
    response = client.post("/language", data={"lang": "fr", "next": "/login", "csrf_token": token})
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Se connecter" in page and "Mot de passe" in page


def test_browser_language_is_the_default(client):
    page = client.get("/login", headers={"Accept-Language": "nl-BE,nl;q=0.9"}).get_data(as_text=True)
    assert "Aanmelden" in page


def test_chosen_language_is_kept_as_the_users_preference(app, client, staff_a):
    login(client, staff_a.officer)
    post(client, "/language", {"lang": "nl"})
    client2 = app.test_client()
    login(client2, staff_a.officer)
    assert "U werkt bij microStart als kredietadviseur." in client2.get("/").get_data(as_text=True)


def test_unknown_language_code_gets_a_translated_answer(client):
    token = csrf_token(client)
    client.post("/language", data={"lang": "fr", "csrf_token": token})
    response = client.post("/language", data={"lang": "xx", "csrf_token": token})
    assert response.status_code == 400
    assert "Langue inconnue. Choisissez nl, fr ou en." in response.get_data(as_text=True)


def test_error_pages_in_the_users_language(client, staff_a):
    login(client, staff_a.officer)
    post(client, "/language", {"lang": "nl"})
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "Pagina niet gevonden" in missing.get_data(as_text=True)
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and "Uw rol geeft geen toegang" in forbidden.get_data(as_text=True)


def test_partial_catalogues_hold_the_strings_of_their_pages(tmp_path):
    """German is for the /refer pages and their mail only: every string of those files, translated
    and compiled, and nothing else of the app."""
    for language in i18n.PARTIAL:
        wanted = {m.id for m in i18n.partial_template(language, tmp_path) if m.id}
        catalogue = {m.id: m for m in i18n.load(i18n.po_path(language)) if m.id}
        assert wanted and set(catalogue) == wanted, f"run scripts/i18n.py update for {language}"
        assert all(m.string and not m.fuzzy for m in catalogue.values()), f"translate {language}"
        with i18n.po_path(language).with_suffix(".mo").open("rb") as handle:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
        assert compiled == {_key(m.id): _key(m.string) for m in catalogue.values()}


def test_german_stays_on_the_self_referral_pages(client):
    assert "Einen Mikrokredit beantragen" in client.get("/refer?lang=de").get_data(as_text=True)
    login_page = client.get("/login?lang=de", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in login_page and "Sign in" in login_page
