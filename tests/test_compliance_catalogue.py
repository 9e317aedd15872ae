"""Catalogues: the starter loads, bad files name the line and problem, nothing partial, round-trip."""
import textwrap

import pytest
from sqlalchemy import func, select

from core.cli import main
from core.extensions import db
from core.models import Catalogue, Clause
from core.services.compliance import catalogue as catalogues
from core.services.compliance.catalogue import CatalogueError

SMALL = textwrap.dedent("""\
    code: test-code
    version: "1"
    title: {en: Test code, nl: Testcode, fr: Code test}
    sections:
      - id: "1"
        title: {en: One, nl: Een, fr: Un}
      - id: "2"
        title: {en: Two, nl: Twee, fr: Deux}
    clauses:
      - id: "1.1"
        section: "1"
        priority: true
        text: {en: Say the price, nl: Zeg de prijs, fr: Dire le prix}
      - id: "1.2"
        section: "1"
        text: {en: Be kind, nl: Wees vriendelijk, fr: Soyez aimable}
      - id: "2.1"
        section: "2"
        applies_to: larger
        text: {en: Have a board, nl: Heb een bestuur, fr: Avoir un conseil}
        guidance: {en: Minutes, nl: Notulen, fr: Procès-verbaux}
    """)


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_starter_catalogue_loads_with_five_sections_and_priority_clauses(app):
    loaded = catalogues.load_starter()
    assert [s.key for s in loaded.sections] == ["1", "2", "3", "4", "5"]
    assert 30 <= len(loaded.clauses) <= 50
    priority = {c.key for c in loaded.clauses if c.priority}
    assert "1.1" in priority and "4.1" in priority and len(priority) >= 8
    assert all(set(c.texts) == {"en", "nl", "fr"} for c in loaded.clauses)
    assert "not the official text" in loaded.notices["en"]
    assert "niet de officiële tekst" in loaded.notices["nl"]


def test_import_then_export_round_trips(app):
    first = catalogues.import_catalogue(SMALL)
    exported = catalogues.export_catalogue(first)
    assert catalogues.parse(exported) == catalogues.parse(SMALL)
    again = catalogues.import_catalogue(exported)  # same code and version: an update, not a copy
    assert again.id == first.id and _count(Catalogue) == 1 and _count(Clause) == 3
    assert catalogues.export_catalogue(again) == exported


def test_starter_round_trips(app):
    exported = catalogues.export_catalogue(catalogues.load_starter())
    assert catalogues.parse(exported) == catalogues.parse(catalogues.STARTER.read_text())


def _problems(source):
    with pytest.raises(CatalogueError) as caught:
        catalogues.import_catalogue(source)
    return caught.value.problems


def test_duplicate_clause_id_names_the_line_and_nothing_is_written(app):
    bad = SMALL.replace('id: "1.2"', 'id: "1.1"')
    assert _problems(bad) == ["line 14: duplicate clause id '1.1' (first on line 10)"]
    assert _count(Catalogue) == 0 and _count(Clause) == 0


def test_unknown_section_and_missing_translation_are_both_named(app):
    bad = SMALL.replace('section: "2"', 'section: "9"').replace(", fr: Soyez aimable", "")
    assert _problems(bad) == ["line 16: text of clause 1.2 has no fr translation",
                              "line 18: clause 2.1 names unknown section '9'"]
    assert _count(Catalogue) == 0


def test_other_mistakes_are_named(app):
    assert _problems("code: [")[0].startswith("line 1: not valid YAML")
    assert _problems(SMALL.replace("priority: true", "priority: maybe")) == [
        "line 12: priority of clause 1.1 must be true or false"]
    assert _problems(SMALL.replace("applies_to: larger", "applies_to: huge")) == [
        "line 19: applies_to of clause 2.1 must be all or larger"]
    assert _problems(SMALL.replace("    priority: true\n", "    prio: true\n")) == [
        "line 12: unknown key 'prio' in a clause"]


def test_update_keeps_answered_clauses(app, staff_a):
    from core import tenancy
    from core.services.compliance import assessments

    loaded = catalogues.import_catalogue(SMALL)
    with tenancy.acting_for(staff_a.institution_id):
        assessment = assessments.create(by=staff_a.admin, catalogue_id=loaded.id,
                                        period_start="2025-01-01", period_end="2025-12-31",
                                        larger_provider=False)
        clause = next(c for c in loaded.clauses if c.key == "1.2")
        assessments.save_answer(assessment=assessment, clause=clause, by=staff_a.admin, answer="met")
    without = SMALL.replace('  - id: "1.2"\n    section: "1"\n    text: {en: Be kind, nl: Wees vriendelijk, fr: Soyez aimable}\n', "")
    assert _problems(without) == ["clauses 1.2 are answered in assessments of test-code 1: "
                                  "publish a new version instead"]
    assert _count(Clause) == 3
    catalogues.import_catalogue(SMALL.replace("Be kind", "Be very kind"))
    assert next(c for c in catalogues.find("test-code", "1").clauses if c.key == "1.2").texts["en"] == "Be very kind"


def test_cli_import_and_export(app, runner, tmp_path):
    source = tmp_path / "code.yaml"
    source.write_text(SMALL)
    result = runner.invoke(main, ["compliance", "import-catalogue", str(source)])
    assert result.exit_code == 0 and "loaded test-code 1: 2 sections, 3 clauses" in result.output
    target = tmp_path / "out.yaml"
    result = runner.invoke(main, ["compliance", "export-catalogue", "test-code", "1", str(target)])
    assert result.exit_code == 0
    assert catalogues.parse(target.read_text()) == catalogues.parse(SMALL)
    source.write_text(SMALL.replace('section: "2"', 'section: "7"'))
    result = runner.invoke(main, ["compliance", "import-catalogue", str(source)])
    assert result.exit_code != 0
    assert "nothing changed" in result.output and "line 18: clause 2.1 names unknown section '7'" in result.output


def test_demo_loads_the_starter_catalogue(app):
    from core.demo import load_demo

    load_demo()
    assert catalogues.find("eu-code-summary", "2021-wip-1") is not None
