"""The `microfin` command line: users, demo data, database upgrade."""
from sqlalchemy import func, select

from core.cli import main
from core.extensions import db
from core.models import User
from core.tenancy import all_institutions
from tests.conftest import login


def _invoke(runner, args, stdin=None):
    return runner.invoke(main, args, input=stdin)


def _user(email):
    with all_institutions("test"):
        return db.session.scalar(select(User).where(User.email == email))


def test_users_add_with_password_from_stdin(app, runner):
    result = _invoke(runner, ["users", "add", "Ann@Credal.test", "--role", "officer", "--institution", "credal",
                              "--name", "Ann Peeters", "--language", "fr", "--password-stdin"],
                     stdin="a strong password\n")
    assert result.exit_code == 0, result.output
    assert "created ann@credal.test (officer)" in result.output
    user = _user("ann@credal.test")
    assert user.institution.slug == "credal" and user.preferred_language == "fr"
    assert login(app.test_client(), "ann@credal.test", "a strong password").status_code == 302


def test_users_add_refuses_bad_input_and_writes_nothing(app, runner):
    cases = [
        (["users", "add", "x@y.test", "--role", "officer"], "This role belongs to an institution"),
        (["users", "add", "x@y.test", "--role", "auditor", "--institution", "credal"], "belong to no institution"),
        (["users", "add", "x@y.test", "--role", "officer", "--institution", "nope"], "no enabled institution 'nope'"),
        (["users", "add", "not-an-email", "--role", "auditor"], "Enter a valid email address."),
        (["users", "add", "x@y.test", "--role", "king"], "Invalid value for '--role'"),
    ]
    for args, message in cases:
        result = _invoke(runner, args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    short = _invoke(runner, ["users", "add", "x@y.test", "--role", "auditor", "--password-stdin"], stdin="short\n")
    assert short.exit_code != 0 and "Use at least 12 characters." in short.output
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_is_idempotent_and_prints_passwords_once(app, runner):
    first = _invoke(runner, ["demo"])
    assert first.exit_code == 0, first.output
    assert "officer@hefboom.demo.microfin.be" in first.output
    assert "auditor@federation.demo.microfin.be" in first.output
    with all_institutions("test"):
        count = db.session.scalar(select(func.count()).select_from(User))
    from core.plugins import state

    assert count == 3 * len(state().institutions) + 2
    line = next(l for l in first.output.splitlines() if "officer@credal" in l)
    password = line.split()[-1]
    assert login(app.test_client(), "officer@credal.demo.microfin.be", password).status_code == 302
    second = _invoke(runner, ["demo"])
    assert second.exit_code == 0 and "already present" in second.output
    assert password not in second.output
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(User)) == count


def test_db_upgrade_is_repeatable(app, runner):
    result = _invoke(runner, ["db", "upgrade"])
    assert result.exit_code == 0 and "database is up to date" in result.output
