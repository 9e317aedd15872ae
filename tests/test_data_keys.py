"""The data keys (issue 14, point 7): every encrypted column under one layer, several keys newest
first, `microfin keys rotate` re-encrypting everything with the newest, webhook secrets encrypted."""
from __future__ import annotations

import json
import os
import stat
from datetime import date

import pyotp
import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import select, text

from core import create_app
from core.cli import main
from core.extensions import db
from core.models import AuditEntry, Client, Referrer, User
from core.services import clients, data_keys, second_factor, webhooks
from core.tenancy import acting_for, all_institutions
from tests.clients_data import make_client, national_number
from tests.conftest import make_staff
from tests.referral_helpers import make_referrer

OLD = "old-data-key-" + "o" * 40
NEW = "new-data-key-" + "n" * 40
WEBHOOK_SECRET = "a-webhook-signing-secret-of-43-characters-xx"
NUMBER = national_number(date(1985, 7, 30))


def _seed(app):
    """A client with a national number, an enrolled admin and a referrer with a webhook, all
    written while only ``OLD`` is configured."""
    with app.app_context():
        staff = make_staff("microstart")
        client = make_client(staff)
        secret = pyotp.random_base32()
        second_factor.confirm_enrolment(staff.admin, secret, pyotp.TOTP(secret).now())
        referrer, _ = make_referrer(webhook_url="https://bank.example/hook", webhook_secret=WEBHOOK_SECRET)
        ids = dict(client=client.id, admin=staff.admin.id, referrer=referrer.id, secret=secret,
                   institution=staff.institution_id, officer=staff.officer.id)
        db.session.remove()
    return ids


def _stored(app, ids) -> dict:
    with app.app_context(), all_institutions("test: raw stored values"):
        values = {
            "national_number": db.session.scalar(select(Client.national_number_secret).where(Client.id == ids["client"])),
            "totp": db.session.scalar(select(User.totp_secret).where(User.id == ids["admin"])),
            "webhook": db.session.scalar(select(Referrer.webhook_secret).where(Referrer.id == ids["referrer"])),
            "match_key": db.session.scalar(text("SELECT value FROM data_secrets WHERE name = 'match-key'")),
        }
        db.session.remove()
    return values


def _revealed(app, ids) -> dict:
    """Every encrypted value read back through the application's own code."""
    with app.app_context(), acting_for(ids["institution"]):
        officer = db.session.get(User, ids["officer"])
        client = db.session.get(Client, ids["client"])
        number = clients.reveal_national_number(ids["client"], user=officer)
        from core.services.identifiers import national_number_hash

        hash_matches = client.national_number_hash == national_number_hash(NUMBER)
        with all_institutions("test"):
            admin = db.session.get(User, ids["admin"])
            totp = second_factor.unseal(admin.totp_secret)
        webhook = webhooks.signing_secret(db.session.get(Referrer, ids["referrer"]))
        db.session.remove()
    return {"number": number.replace(".", "").replace("-", ""), "hash_matches": hash_matches,
            "totp": totp, "webhook": webhook}


def _rotate(app, *args):
    result = app.test_cli_runner().invoke(main, ["keys", "rotate", *args])
    return result


def test_rotate_re_encrypts_everything_so_the_new_key_alone_reads_it_and_the_old_alone_does_not(make_app):
    old_app = make_app(MICROFIN_DATA_KEYS=[OLD])
    ids = _seed(old_app)
    before = _stored(old_app, ids)
    assert all(before.values())

    both = make_app(MICROFIN_DATA_KEYS=[NEW, OLD])
    # Before rotating, both keys read the old values (the new one is only used to write).
    assert _revealed(both, ids)["webhook"] == WEBHOOK_SECRET
    result = _rotate(both, "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert "national numbers" in result.output and "Every encrypted value is now under the newest key." in result.output
    after = _stored(both, ids)
    assert all(after[name] != before[name] for name in before)

    new_only = make_app(MICROFIN_DATA_KEYS=[NEW])
    revealed = _revealed(new_only, ids)
    assert revealed == {"number": NUMBER, "hash_matches": True, "totp": ids["secret"], "webhook": WEBHOOK_SECRET}

    old_only = make_app(MICROFIN_DATA_KEYS=[OLD])
    with old_only.app_context():
        for purpose, token in ((data_keys.NATIONAL_NUMBER, after["national_number"]),
                               (data_keys.SECOND_FACTOR, after["totp"]),
                               (data_keys.WEBHOOK_SECRET, after["webhook"]),
                               (data_keys.DATA_SECRET, after["match_key"])):
            with pytest.raises(InvalidToken):
                data_keys.unseal(purpose, token)


def test_rotate_is_idempotent_and_recorded_in_the_audit_trail(make_app):
    old_app = make_app(MICROFIN_DATA_KEYS=[OLD])
    ids = _seed(old_app)
    both = make_app(MICROFIN_DATA_KEYS=[NEW, OLD])
    first = _rotate(both)
    assert first.exit_code == 0, first.output
    stored = _stored(both, ids)
    second = _rotate(both)
    assert second.exit_code == 0, second.output
    assert _stored(both, ids) == stored  # nothing rewritten: everything was under the newest key
    assert "re-encrypted      0" in second.output
    with both.app_context(), all_institutions("test"):
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "keys-rotated")))
        assert len(entries) == 2
        assert entries[0].changes["webhook secrets"] == {"rotated": 1, "current": 0, "unreadable": 0}
        assert entries[1].changes["webhook secrets"] == {"rotated": 0, "current": 1, "unreadable": 0}


def test_a_value_no_key_opens_is_left_alone_and_the_command_fails(make_app):
    old_app = make_app(MICROFIN_DATA_KEYS=[OLD])
    ids = _seed(old_app)
    before = _stored(old_app, ids)
    # The old key is forgotten: nothing can be re-encrypted, nothing is overwritten.
    new_only = make_app(MICROFIN_DATA_KEYS=[NEW])
    result = _rotate(new_only)
    assert result.exit_code != 0
    assert "readable by no configured key" in result.output
    assert _stored(new_only, ids) == before
    status = new_only.test_cli_runner().invoke(main, ["keys", "status"])
    assert status.exit_code != 0 and "an old key is missing" in status.output


def test_status_counts_without_writing(make_app):
    old_app = make_app(MICROFIN_DATA_KEYS=[OLD])
    ids = _seed(old_app)
    before = _stored(old_app, ids)
    both = make_app(MICROFIN_DATA_KEYS=[NEW, OLD])
    result = both.test_cli_runner().invoke(main, ["keys", "status"])
    assert result.exit_code == 0, result.output
    assert "2 data key(s) configured" in result.output
    assert "webhook secrets        under an older key      1" in result.output
    assert _stored(both, ids) == before


def test_webhook_secret_is_stored_encrypted_and_never_in_the_audit_trail(app):
    referrer, _ = make_referrer(webhook_url="https://bank.example/hook", webhook_secret=WEBHOOK_SECRET)
    raw = db.session.scalar(text("SELECT webhook_secret FROM referrers WHERE id = :id"), {"id": referrer.id})
    assert raw and WEBHOOK_SECRET not in raw
    assert webhooks.signing_secret(referrer) == WEBHOOK_SECRET
    with all_institutions("test"):
        trail = json.dumps([e.changes for e in db.session.scalars(select(AuditEntry))])
    assert WEBHOOK_SECRET not in trail and raw not in trail and "(secret)" in trail


def test_webhook_secret_too_long_is_refused_and_nothing_written(app):
    from core.services.errors import ValidationFailed
    from core.services.referrers import add_referrer

    with pytest.raises(ValidationFailed) as failed:
        add_referrer(name="Bank Long", kind="bank", webhook_url="https://bank.example/hook",
                     webhook_secret="x" * 201)
    assert "webhook_secret" in failed.value.errors
    assert db.session.scalar(select(Referrer.id).where(Referrer.name == "Bank Long")) is None


def test_several_keys_from_the_environment_newest_first(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MICROFIN_DATA_KEYS", f" {NEW}, {OLD}\n")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["MICROFIN_DATA_KEYS"] == [NEW, OLD]
    assert app.config["MICROFIN_DATA_KEY"] == NEW
    assert not (tmp_path / "data_key").exists()


def test_one_key_from_the_environment_is_kept_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("MICROFIN_DATA_KEYS", raising=False)
    monkeypatch.setenv("MICROFIN_DATA_KEY", "one key, with a comma")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["MICROFIN_DATA_KEYS"] == ["one key, with a comma"]


def test_generated_data_key_file_is_owner_only_and_add_then_prune_keep_it_so(make_app, tmp_path, monkeypatch):
    monkeypatch.delenv("MICROFIN_DATA_KEYS", raising=False)
    monkeypatch.delenv("MICROFIN_DATA_KEY", raising=False)
    app = make_app()  # the instance folder is tmp_path / "instance" (conftest)
    key_file = tmp_path / "instance" / "data_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text().split()
    assert app.config["MICROFIN_DATA_KEYS"] == first and len(first) == 1

    result = app.test_cli_runner().invoke(main, ["keys", "add"])
    assert result.exit_code == 0, result.output
    keys = key_file.read_text().split()
    assert len(keys) == 2 and keys[1] == first[0] and keys[0] != first[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not [p for p in key_file.parent.iterdir() if p.name.endswith(".tmp")]

    restarted = make_app()
    assert restarted.config["MICROFIN_DATA_KEYS"] == keys
    with restarted.app_context():
        make_referrer(webhook_url="https://bank.example/hook", webhook_secret=WEBHOOK_SECRET)
    # Values written before `add` are still under the old key: prune refuses until rotated.
    with app.app_context():
        ids = _seed_one_under(app)
    refused = restarted.test_cli_runner().invoke(main, ["keys", "prune"])
    assert refused.exit_code != 0 and "run `microfin keys rotate` first" in refused.output
    assert key_file.read_text().split() == keys
    assert _rotate(restarted).exit_code == 0
    pruned = restarted.test_cli_runner().invoke(main, ["keys", "prune"])
    assert pruned.exit_code == 0, pruned.output
    assert key_file.read_text().split() == keys[:1]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    after = make_app()
    with after.app_context():
        assert webhooks.signing_secret(db.session.get(Referrer, ids)) == WEBHOOK_SECRET


def _seed_one_under(app) -> int:
    referrer, _ = make_referrer(name="Bank Old", webhook_url="https://old.example/hook", webhook_secret=WEBHOOK_SECRET)
    return referrer.id


def test_add_with_keys_in_the_environment_prints_the_key_and_writes_nothing(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_DATA_KEYS", OLD)
    app = make_app()
    result = app.test_cli_runner().invoke(main, ["keys", "add"])
    assert result.exit_code == 0, result.output
    assert f",{OLD}" not in result.output  # the current keys are never printed
    assert "MICROFIN_DATA_KEYS=" in result.output and "microfin keys rotate" in result.output
    assert not (tmp_path / "instance" / "data_key").exists()


def test_sqlite_database_file_is_created_owner_only(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("MICROFIN_DATABASE_URL", raising=False)
    old_umask = os.umask(0o022)
    try:
        app = create_app({"SECRET_KEY": "x"})
        with app.app_context():
            db.session.execute(text("CREATE TABLE t (x INTEGER)"))
            db.session.commit()
            db.engine.dispose()
    finally:
        os.umask(old_umask)
    for name in ("microfin.sqlite3", "data_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_migration_encrypts_clear_webhook_secrets_keeps_the_hash_key_and_downgrade_decrypts(tmp_path, monkeypatch):
    from flask_migrate import downgrade, upgrade

    from core.cli import upgrade_database
    from core.services.identifiers import national_number_hash
    from tests.conftest import base_config

    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'secrets.sqlite3'}"
    app = create_app(base_config(url, MICROFIN_DATA_KEYS=[OLD]))
    with app.app_context():
        upgrade_database()
        ids = _seed(app)
        stored_hash = db.session.scalar(text("SELECT national_number_hash FROM clients"))
        downgrade(revision="search_01")
        clear = db.session.scalar(text("SELECT webhook_secret FROM referrers"))
        assert clear == WEBHOOK_SECRET  # as the code before secrets_01 stored it
        db.session.remove()
        upgrade(revision="heads")
        raw = db.session.scalar(text("SELECT webhook_secret FROM referrers"))
        assert raw != WEBHOOK_SECRET and data_keys.unseal(data_keys.WEBHOOK_SECRET, raw) == WEBHOOK_SECRET
        db.session.remove()
        db.engine.dispose()
    # A fresh application (no cached hash key) finds the client by the hash made before.
    again = create_app(base_config(url, MICROFIN_DATA_KEYS=[NEW, OLD]))
    with again.app_context():
        assert national_number_hash(NUMBER) == stored_hash
        assert _rotate(again).exit_code == 0
        db.session.remove()
    rotated = create_app(base_config(url, MICROFIN_DATA_KEYS=[NEW]))
    with rotated.app_context():
        assert national_number_hash(NUMBER) == stored_hash
        assert webhooks.signing_secret(db.session.get(Referrer, ids["referrer"])) == WEBHOOK_SECRET
        # Downgrading after a rotation would leave hashes the older code cannot find: refused.
        with pytest.raises(SystemExit):  # Flask-Migrate logs the RuntimeError and exits
            downgrade(revision="search_01")
        db.session.rollback()
        assert db.session.scalar(text("SELECT version_num FROM alembic_version WHERE version_num = 'secrets_01'"))
        db.session.remove()
        db.engine.dispose()


def _read_secret(path: str) -> str:
    from pathlib import Path

    from core.config import secret_key

    return secret_key(Path(path))


def test_workers_starting_at_once_all_read_the_one_whole_key(tmp_path, monkeypatch):
    """Eight processes create the instance key at the same moment: one writes it, all read it whole
    (an exclusive create let a second worker read the empty file before the first had written)."""
    import multiprocessing

    monkeypatch.delenv("MICROFIN_SECRET_KEY", raising=False)
    for attempt in range(5):
        folder = tmp_path / f"instance-{attempt}"
        with multiprocessing.get_context("fork").Pool(8) as pool:
            keys = pool.map(_read_secret, [str(folder)] * 8)
        assert len(set(keys)) == 1 and len(keys[0]) >= 60, keys
        assert (folder / "secret_key").stat().st_mode & 0o777 == 0o600
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no temporary file left
