"""Settings, read from ``MICROFIN_*`` environment variables.

Every setting has a safe default so that a fresh clone runs on SQLite with no configuration.
Tests and embedders pass a mapping to ``create_app(config)``; it wins over the environment.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

LANGUAGES = ("nl", "fr", "en")
#: The public self-referral pages (``/refer``) and their mail are also in German; the rest of the
#: app is not (German is never offered by the language switch nor kept as a preference).
SELF_REFERRAL_LANGUAGES = ("nl", "fr", "en", "de")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"MICROFIN_{name}")
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_list(name: str) -> list[str]:
    raw = _env(name, "") or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def _instance_secret(instance_path: Path, env_name: str, file_name: str) -> str:
    """``MICROFIN_<env_name>``, or a random key generated once into the instance folder (mode 600).

    Several workers may start at once: the first creates the file, the others read it.
    """
    configured = _env(env_name)
    if configured:
        return configured
    key_file = instance_path / file_name
    if not key_file.exists():
        _create_whole(key_file, secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def _private_copy(path: Path, content: str) -> Path:
    """``content`` in a new file beside ``path``, mode 600, that only this process knows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return temporary


def _create_whole(path: Path, content: str) -> None:
    """Create ``path`` (mode 600) holding ``content`` unless it exists, so that no other process
    ever reads it half written: written to a file of our own, then hard-linked into place, which
    fails for every process but the first (an ``O_EXCL`` create would let a second worker read the
    empty file between the first one's create and its write)."""
    temporary = _private_copy(path, content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another worker was first: its file is whole, ours is dropped
    finally:
        os.unlink(temporary)


def secret_key(instance_path: Path) -> str:
    """The key that signs sessions and CSRF tokens (``MICROFIN_SECRET_KEY`` or generated)."""
    return _instance_secret(instance_path, "SECRET_KEY", "secret_key")


def data_key(instance_path: Path) -> str:
    """The newest data key (see ``data_keys``)."""
    return data_keys(instance_path)[0]


def split_keys(raw: str) -> list[str]:
    """Several keys in one value, newest first, separated by commas, spaces or new lines."""
    return [part for part in raw.replace(",", " ").split() if part]


def data_keys(instance_path: Path) -> list[str]:
    """The keys protecting personal identifiers and secrets, newest first.

    ``MICROFIN_DATA_KEYS`` (several, newest first: the newest encrypts, every one decrypts), else
    ``MICROFIN_DATA_KEY`` (one), else the instance folder's ``data_key`` file (one key a line,
    newest first; generated once, mode 600). Losing every key makes stored numbers unreadable;
    ``microfin keys rotate`` re-encrypts everything with the newest so the older can be dropped.
    """
    configured = _env("DATA_KEYS")
    if configured and split_keys(configured):
        return split_keys(configured)
    single = _env("DATA_KEY")
    if single:
        return [single]  # one key, kept whole (as before several keys were possible)
    return split_keys(_instance_secret(instance_path, "DATA_KEY", "data_key"))


def data_key_file(instance_path: Path) -> Path | None:
    """The instance file holding the data keys, or None when they come from the environment."""
    if _env("DATA_KEYS") or _env("DATA_KEY"):
        return None
    return instance_path / "data_key"


def write_data_keys(key_file: Path, keys: list[str]) -> None:
    """Replace the instance file's keys (one a line, newest first): written beside it with mode 600,
    then renamed over it, so a crash leaves the old file or the new one, never half of one."""
    os.replace(_private_copy(key_file, "\n".join(keys) + "\n"), key_file)


def new_data_key() -> str:
    return secrets.token_urlsafe(48)


def settings_from_env(instance_path: Path, overrides: dict) -> dict:
    """Build the Flask config mapping from the environment; ``overrides`` (tests, embedders) win."""
    database_url = _env("DATABASE_URL", f"sqlite:///{instance_path / 'microfin.sqlite3'}")
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Migrations as the tables' owner (PostgreSQL with row-level security: the app's own URL is
        # a role that owns no table); unset: migrations use MICROFIN_DATABASE_URL.
        "MICROFIN_MIGRATE_DATABASE_URL": _env("MIGRATE_DATABASE_URL"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Installed is not enabled: an empty list means every installed plugin.
        "MICROFIN_PLUGINS": _env_list("PLUGINS"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies are forced on here, and also switched on per request served over HTTPS.
        "SESSION_COOKIE_SECURE": _env("SECURE_COOKIES", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_env_int("SESSION_HOURS", 10)),
        # The cookie is written when the session changes, not re-signed on every answer: it expires
        # at the absolute lifetime set at sign-in, as the server-side record does (idle time is
        # kept by the record, core.services.user_sessions), and a page's answer never overwrites
        # a cookie changed meanwhile by another request (a language just chosen).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "MICROFIN_IDLE_MINUTES": _env_int("IDLE_MINUTES", 60),
        "MICROFIN_LOGIN_MAX_FAILURES": _env_int("LOGIN_MAX_FAILURES", 5),
        "MICROFIN_LOGIN_WINDOW_MINUTES": _env_int("LOGIN_WINDOW_MINUTES", 15),
        "MICROFIN_IMPORT_STALE_MINUTES": _env_int("IMPORT_STALE_MINUTES", 15),
        "MICROFIN_LOGIN_MAX_FAILURES_PER_ADDRESS": _env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 100),
        "MICROFIN_INVITE_DAYS": _env_int("INVITE_DAYS", 7),
        # Admins, auditors and the operator must use a second factor (TOTP); 0 makes it optional.
        "MICROFIN_REQUIRE_SECOND_FACTOR": _env("REQUIRE_SECOND_FACTOR", "1") != "0",
        "MICROFIN_PROXY_FIX": _env("PROXY_FIX", "0") == "1",
        "MICROFIN_WEBHOOK_ALLOW_PRIVATE": _env("WEBHOOK_ALLOW_PRIVATE", "0") == "1",
        "MICROFIN_EXTRA_PLUGINS": [],
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Brussels",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "MICROFIN_API_RATE_LIMIT": _env("API_RATE_LIMIT", "120/minute"),
        # /metrics for a scraper sending "Authorization: Bearer <token>"; unset: the operator only.
        "MICROFIN_METRICS_TOKEN": _env("METRICS_TOKEN"),
        "MICROFIN_REFERRAL_CONTACT_DAYS": _env_int("REFERRAL_CONTACT_DAYS", 5),
        # Outgoing mail (core/services/outbox.py): without a host, mails stay in the database.
        "MICROFIN_SMTP_HOST": _env("SMTP_HOST"),
        "MICROFIN_SMTP_PORT": _env_int("SMTP_PORT", 0),  # 0: 25, 587 (starttls) or 465 (tls)
        "MICROFIN_SMTP_USER": _env("SMTP_USER"),
        "MICROFIN_SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "MICROFIN_SMTP_SECURITY": _env("SMTP_SECURITY", "none"),
        "MICROFIN_SMTP_TIMEOUT": _env_int("SMTP_TIMEOUT", 20),
        "MICROFIN_MAIL_FROM": _env("MAIL_FROM", "Microfin CRM <no-reply@localhost>"),
        "MICROFIN_BASE_URL": _env("BASE_URL", "http://localhost:5000"),
        "MICROFIN_PASSWORD_RESET_MINUTES": _env_int("PASSWORD_RESET_MINUTES", 60),
        "MICROFIN_EMAIL_CHANGE_HOURS": _env_int("EMAIL_CHANGE_HOURS", 24),
        # Any request body above this is refused with 413 before it is read (chunked ones too).
        "MAX_CONTENT_LENGTH": _env_int("MAX_REQUEST_BYTES", 20 * 1024 * 1024),
        "MICROFIN_SQLITE_BUSY_TIMEOUT": _env_int("SQLITE_BUSY_TIMEOUT", 15),  # seconds
        # Self-referral (/refer): how long the confirmation link works; sends per client address.
        "MICROFIN_SELF_REFERRAL_HOURS": _env_int("SELF_REFERRAL_HOURS", 48),
        "MICROFIN_SELF_REFERRAL_RATE_LIMIT": _env("SELF_REFERRAL_RATE_LIMIT", "10/hour"),
    }
    settings.update(overrides)
    if str(settings["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite") and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        # A SQLite connection is a file handle that never drops: no "SELECT 1" before each checkout.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {**settings["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    keys = settings.get("MICROFIN_DATA_KEYS")
    if isinstance(keys, str):
        keys = split_keys(keys)
    if not keys:
        keys = [settings["MICROFIN_DATA_KEY"]] if settings.get("MICROFIN_DATA_KEY") else data_keys(instance_path)
    settings["MICROFIN_DATA_KEYS"] = list(keys)
    settings["MICROFIN_DATA_KEY"] = keys[0]  # the newest: it encrypts
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = secret_key(instance_path)
    return settings
