"""The plugin system: loading, allow-list, checks, scoped hooks, and one test per hook."""
import textwrap

import pytest
from flask import Blueprint

from core import create_app
from core.plugin_api import Event, Institution, MenuItem, Region, hookimpl, roles_required
from core.plugins import PluginError, emit, state
from tests.conftest import base_config, login

FOUR = {"microstart", "credal", "hefboom", "brusoc"}


class _Fixture(Institution):
    slug = "fixture"
    names = {"nl": "Proef", "fr": "Essai", "en": "Fixture"}
    regions = frozenset({Region.BRUSSELS})
    languages = ("fr",)


def _app(database_url="sqlite://", **extra):
    return create_app(base_config(database_url, **extra))


def test_the_four_institutions_are_installed_and_enabled(app):
    assert FOUR <= set(state().institutions)  # an installed fifth (examples/) may join them
    infos = state().infos
    assert all(infos[name].enabled and infos[name].version for name in FOUR)


def test_profiles_match_the_domain(app):
    institutions = state().institutions
    assert institutions["brusoc"].regions == {Region.BRUSSELS}
    assert institutions["hefboom"].languages == ("nl",)
    assert institutions["credal"].regions == {Region.WALLONIA, Region.BRUSSELS}
    assert institutions["microstart"].regions == set(Region)
    assert "Liège" in {o.city for o in institutions["microstart"].offices}
    assert institutions["brusoc"].serves_postal_code("1000")
    assert not institutions["brusoc"].serves_postal_code("1640")  # Sint-Genesius-Rode is Flanders


def test_allow_list_enables_only_named_plugins():
    app = _app(MICROFIN_PLUGINS=["microstart", "brusoc"])
    assert set(state(app).institutions) == {"microstart", "brusoc"}
    assert state(app).infos["hefboom"].enabled is False


def test_disabled_plugin_disappears_from_the_ui_without_errors(make_app, staff_a, staff_b):
    from core.services.institutions import sync_institutions

    app = make_app(MICROFIN_PLUGINS=["microstart", "credal", "brusoc"])
    with app.app_context():
        sync_institutions()
        client = app.test_client()
        assert login(client, staff_a.officer).status_code == 302
        page = client.get("/institutions")
        assert page.status_code == 200 and "Hefboom" not in page.get_data(as_text=True)
        assert login(app.test_client(), staff_b.officer).status_code == 401


def test_misspelt_hook_refuses_to_start():
    class Typo:
        @hookimpl
        def register_institutionz(self):
            return []

    with pytest.raises(PluginError, match="typo.*register_institutionz"):
        _app(MICROFIN_EXTRA_PLUGINS=[("typo", Typo())])


def test_duplicate_slug_refuses_to_start():
    class Copy:
        @hookimpl
        def register_institutions(self):
            inst = _Fixture()
            inst.slug = "microstart"
            return [inst]

    with pytest.raises(PluginError, match="copy.*'microstart' is already registered"):
        _app(MICROFIN_EXTRA_PLUGINS=[("copy", Copy())])


def test_profile_problems_refuse_to_start():
    class NoNames(_Fixture):
        names = {"en": "Only English"}

    class Bad:
        @hookimpl
        def register_institutions(self):
            return [NoNames()]

    with pytest.raises(PluginError, match="bad.*names missing for nl, fr"):
        _app(MICROFIN_EXTRA_PLUGINS=[("bad", Bad())])


def test_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    dist = tmp_path / "broken_microfin_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-microfin-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[microfin.plugins]\nbroken = broken_microfin_plugin\n")
    (tmp_path / "broken_microfin_plugin.py").write_text("raise ImportError('missing dependency xyz')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = _app()
    info = state(app).infos["broken"]
    assert not info.enabled and "missing dependency xyz" in info.error
    assert FOUR <= set(state(app).institutions)


def test_plugins_command_lists_name_version_hooks_state(runner):
    from core.cli import main

    result = runner.invoke(main, ["plugins"])
    assert result.exit_code == 0
    for name in FOUR:
        assert name in result.output
    assert "register_institutions" in result.output and "0.1.0" in result.output


# --- one test per hook (tests/test_hooks_documented.py insists) ---------------------------

def test_hook_register_institutions():
    class Extra:
        @hookimpl
        def register_institutions(self):
            return [_Fixture()]

    app = _app(MICROFIN_EXTRA_PLUGINS=[("fixture", Extra())])
    assert state(app).institutions["fixture"].name("fr") == "Essai"
    assert state(app).owners["fixture"] == "fixture"


def _blueprint_plugin(name):
    bp = Blueprint(name, __name__)

    @bp.route("/hello")
    @roles_required("officer")
    def hello():
        return "hello from the plugin"

    class Pages:
        @hookimpl
        def register_blueprints(self):
            return [bp]

    return Pages()


def test_hook_register_blueprints_mounts_under_slug(make_app, staff_a):
    app = make_app(MICROFIN_EXTRA_PLUGINS=[("fixture", _blueprint_plugin("fixture"))])
    with app.app_context():
        client = app.test_client()
        login(client, staff_a.officer)
        assert client.get("/i/fixture/hello").get_data(as_text=True) == "hello from the plugin"


def test_hook_register_blueprints_refuses_a_wrong_name():
    with pytest.raises(PluginError, match="fixture: blueprint 'other' must be named after the plugin"):
        _app(MICROFIN_EXTRA_PLUGINS=[("fixture", _blueprint_plugin("other"))])


def test_hook_register_blueprints_undeclared_view_is_refused(make_app, staff_a):
    bp = Blueprint("fixture", __name__)
    bp.add_url_rule("/open", "open", lambda: "should not show")

    class Pages:
        @hookimpl
        def register_blueprints(self):
            return [bp]

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("fixture", Pages())])
    with app.app_context():
        client = app.test_client()
        login(client, staff_a.officer)
        assert client.get("/i/fixture/open").status_code == 403


def test_hook_menu_items_reach_only_the_owning_institution(make_app, staff_a, staff_b):
    class Menu:
        @hookimpl
        def register_institutions(self):
            return []

        @hookimpl
        def menu_items(self, user, institution):
            return [MenuItem("Extra page", "home.institutions")]

    class Broken:
        @hookimpl
        def menu_items(self):
            raise RuntimeError("widget exploded")

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("menu", Menu()), ("broken", Broken())])
    with app.app_context():
        client = app.test_client()
        login(client, staff_a.officer)
        assert "Extra page" in client.get("/").get_data(as_text=True)  # broken one skipped


def test_hook_menu_items_scoped_to_owner(make_app, staff_a, staff_b):
    """A plugin owning microStart adds menu entries for microStart's users only."""
    class MicroMenu:
        @hookimpl
        def menu_items(self, user, institution):
            return [MenuItem("Microstart only", "home.institutions")]

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("micromenu", MicroMenu())])
    with app.app_context():
        state(app).owners["microstart"] = "micromenu"
        mine, theirs = app.test_client(), app.test_client()
        login(mine, staff_a.officer)
        login(theirs, staff_b.officer)
        assert "Microstart only" in mine.get("/").get_data(as_text=True)
        assert "Microstart only" not in theirs.get("/").get_data(as_text=True)


def test_hook_on_event_after_commit_failures_contained(make_app, staff_a):
    seen = []

    class Listener:
        @hookimpl
        def on_event(self, event):
            seen.append(event.name)

    class Failing:
        @hookimpl
        def on_event(self, event):
            raise RuntimeError("listener broke")

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("listener", Listener()), ("failing", Failing())])
    with app.app_context():
        from core.services import accounts

        user = accounts.create_user(email="new@x.test", name="N", role="auditor", institution_id=None,
                                    password="long enough password")
        assert user.id is not None and seen == ["user.created"]
        emit(Event("sector.test", None))
        assert seen[-1] == "sector.test"
