"""``microfin plugins new`` writes a plugin that passes the contract and its own tests."""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.testing.plugin_contract import contract_problems

ROOT = Path(__file__).resolve().parent.parent


def test_plugins_new_writes_a_plugin_passing_the_contract(runner, tmp_path, monkeypatch):
    result = runner.invoke(main, ["plugins", "new", "mymfi", "--path", str(tmp_path)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "microfin-mymfi"
    assert (target / "pyproject.toml").read_text().count('mymfi = "microfin_mymfi"') == 1
    assert (target / "microfin_mymfi" / "templates" / "mymfi" / "about.html").is_file()
    monkeypatch.syspath_prepend(str(target))
    module = importlib.import_module("microfin_mymfi")
    assert contract_problems("mymfi", module) == []


def test_the_skeletons_own_tests_pass(runner, tmp_path):
    assert runner.invoke(main, ["plugins", "new", "othermfi", "--path", str(tmp_path)]).exit_code == 0
    target = tmp_path / "microfin-othermfi"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target / "tests")],
                         cwd=target, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "16 passed" in run.stdout


def test_plugins_new_refuses_bad_or_taken_slugs(runner, tmp_path):
    bad = runner.invoke(main, ["plugins", "new", "My-MFI", "--path", str(tmp_path)])
    assert bad.exit_code == 2 and "lowercase Python identifier" in bad.output
    taken = runner.invoke(main, ["plugins", "new", "hefboom", "--path", str(tmp_path)])
    assert taken.exit_code == 2 and "'hefboom' already exists" in taken.output
    (tmp_path / "microfin-fresh").mkdir()
    exists = runner.invoke(main, ["plugins", "new", "fresh", "--path", str(tmp_path)])
    assert exists.exit_code == 1 and "already exists" in exists.output
    assert list((tmp_path / "microfin-fresh").iterdir()) == []


def test_plugins_check_runs_the_contract_on_installed_plugins(runner):
    result = runner.invoke(main, ["plugins", "check"])
    assert result.exit_code == 0, result.output
    for name in ("microstart", "credal", "hefboom", "brusoc"):
        assert f"{name}: passes the contract" in result.output
    missing = runner.invoke(main, ["plugins", "check", "nosuch"])
    assert missing.exit_code == 1 and "no installed plugin 'nosuch'" in missing.output


def test_localized_text_follows_the_page_language(app):
    from flask_babel import force_locale
    from markupsafe import Markup

    from core.plugin_api import Localized, texts

    label = Localized(texts("About <us>", "Over ons", "À propos"))
    with app.test_request_context():
        with force_locale("fr"):
            assert str(label) == "À propos"
        with force_locale("en"):
            assert Markup("{}").format(label) == "About &lt;us&gt;"


# --- PostalArea: an institution that serves less than a region -------------------------------------

def test_postal_area_by_province_and_by_range():
    from core.plugin_api import PostalArea

    limburg = PostalArea(provinces=("VLI",), ranges=((3700, 3799),))
    assert limburg.contains("3500") and limburg.contains(3600)  # Hasselt, Genk: the province
    assert limburg.contains("3700")  # Tongeren, by its range
    assert not limburg.contains("2000") and not limburg.contains("1000")  # Antwerp, Brussels
    assert not limburg.contains("abcd") and not limburg.contains(None) and not limburg.contains("")
    eupen = PostalArea(ranges=((4700, 4701),))
    assert eupen.contains("4700") and not eupen.contains("4702")


def test_postal_area_refuses_a_wrong_province_or_range():
    from core.plugin_api import PostalArea

    with pytest.raises(ValueError, match="unknown province"):
        PostalArea(provinces=("LIM",))
    with pytest.raises(ValueError, match="range"):
        PostalArea(ranges=((3800, 3700),))
    with pytest.raises(ValueError, match="range"):
        PostalArea(ranges=((999, 1200),))
