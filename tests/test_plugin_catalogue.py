"""A plugin's own message catalogue (issue 15, point 6): made by ``microfin plugins new``, merged by
core before its own, checked by the contract for each of the plugin's languages."""
from __future__ import annotations

import importlib
import sys

import pytest
from babel.messages.pofile import read_po, write_po
from flask import render_template

from core import create_app
from core.cli import main
from core.plugin_api import _l
from core.testing.plugin_contract import check_translations
from tests.conftest import base_config


@pytest.fixture
def zeeland(tmp_path, runner):
    """A plugin written by ``microfin plugins new zeeland``, importable."""
    assert runner.invoke(main, ["plugins", "new", "zeeland", "--path", str(tmp_path)]).exit_code == 0
    project = tmp_path / "microfin-zeeland"
    sys.path.insert(0, str(project))
    try:
        yield importlib.import_module("microfin_zeeland"), project
    finally:
        sys.path.remove(str(project))
        for name in [n for n in sys.modules if n.startswith("microfin_zeeland")]:
            del sys.modules[name]


def _app(database_url, module):
    return create_app(base_config(database_url, MICROFIN_PLUGINS=["-"], MICROFIN_EXTRA_PLUGINS=[("zeeland", module)]))


def _dutch_page(app, module) -> tuple[str, str]:
    with app.test_request_context("/", headers={"Accept-Language": "nl"}):
        return str(_l("About us")), render_template("zeeland/about.html", profile=module.PROFILE, language="nl")


def _translate(project, language: str, translations: dict[str, str]) -> None:
    po = project / "microfin_zeeland" / "translations" / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    for message in catalog:
        if message.id in translations:
            message.string = translations[message.id]
    with po.open("wb") as handle:
        write_po(handle, catalog, omit_header=True)


def test_a_new_plugin_speaks_dutch_and_a_new_string_needs_its_translation(zeeland, database_url, runner):
    module, project = zeeland
    assert check_translations("zeeland", module) == []
    label, page = _dutch_page(_app(database_url, module), module)
    assert label == "Over ons" and "Onze kantoren" in page

    template = project / "microfin_zeeland" / "templates" / "zeeland" / "about.html"
    template.write_text(template.read_text().replace("<ul>", '<p>{{ _("Opening hours by appointment") }}</p>\n<ul>'))
    problems = check_translations("zeeland", module)
    assert len(problems) == 2 and all("'Opening hours by appointment'" in p for p in problems)

    assert runner.invoke(main, ["plugins", "catalogue", str(project)]).exit_code == 0  # the new entry, empty
    _translate(project, "nl", {"Opening hours by appointment": "Openingsuren op afspraak"})
    _translate(project, "fr", {"Opening hours by appointment": "Heures d'ouverture sur rendez-vous"})
    done = runner.invoke(main, ["plugins", "catalogue", str(project)])  # compiles
    assert done.exit_code == 0 and "still to translate" not in done.output
    assert check_translations("zeeland", module) == []
    _, page = _dutch_page(_app(database_url, module), module)
    assert "Openingsuren op afspraak" in page and "Onze kantoren" in page


def test_core_strings_keep_core_wording_and_an_app_without_the_plugin_is_untouched(zeeland, database_url, app):
    module, _ = zeeland
    with_plugin = _app(database_url, module)
    directories = with_plugin.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")
    assert directories[0].endswith("microfin_zeeland/translations") and directories[-1].endswith("core/translations")
    with app.test_request_context("/", headers={"Accept-Language": "nl"}):
        assert str(_l("About us")) == "About us"  # the plugin's catalogue is not loaded here

