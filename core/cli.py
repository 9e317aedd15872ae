"""The ``microfin`` command line: database, plugins, users, demo data, serving."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from core import clock


def _create_app():
    from core import create_app
    from core.plugins import PluginError

    try:
        return create_app()
    except PluginError as exc:
        raise click.ClickException(f"refusing to start: {exc}") from exc


class MicrofinGroup(FlaskGroup):
    """Flask's CLI group without Flask's own ``run`` and without foreign ``flask.commands``."""

    def __init__(self, **kwargs):
        super().__init__(create_app=_create_app, add_default_commands=False,
                         load_dotenv=False, set_debug_flag=False, **kwargs)
        # Flask-Migrate ships a ``db`` group through ``flask.commands``; ours (upgrading all
        # heads and syncing institutions) must win, so foreign command plugins are not loaded.
        self._loaded_plugin_commands = True


@click.group(cls=MicrofinGroup)
def main():
    """Microfin CRM: the shared CRM of Belgium's microfinance institutions."""


main.add_command(shell_command)
main.add_command(routes_command)


# --- database -----------------------------------------------------------------------------

@main.group()
def db():
    """Database migrations (Alembic through Flask-Migrate)."""


def upgrade_database() -> None:
    """Upgrade every branch to its head, then sync institutions from the enabled plugins."""
    from flask_migrate import upgrade

    from core.services.institutions import sync_institutions

    from core.database_setup import refresh_statistics

    upgrade(revision="heads")
    sync_institutions()
    refresh_statistics()


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    """Upgrade the database to the newest revision of core and of every plugin branch."""
    upgrade_database()
    click.echo("database is up to date")


@db.command("grant")
@click.argument("role")
@with_appcontext
def db_grant(role):
    """Grant the application ROLE (PostgreSQL; it owns no table) the use of every table's rows and
    sequences, now and for later migrations. Run as the owner (MICROFIN_MIGRATE_DATABASE_URL)."""
    from core.database_setup import grant_app_role, owner_engine
    from core.extensions import db as database

    engine = owner_engine() or database.engine
    if engine.dialect.name != "postgresql":
        raise click.ClickException("row-level security and roles are PostgreSQL's; SQLite needs neither")
    with engine.begin() as connection:
        grant_app_role(connection, role)
    click.echo(f"granted the tables' rows and sequences to {role}")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision):
    """Downgrade to REVISION (for a plugin before removing it: SLUG@base)."""
    from flask_migrate import downgrade

    downgrade(revision=revision)


@db.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--plugin", help="Create the revision on this plugin's own branch.")
@with_appcontext
def db_revision(message, plugin):
    """Autogenerate a revision from the models (core, or one plugin's branch)."""
    import os

    from flask_migrate import migrate

    from core.plugins import plugin_migration_dirs

    if not plugin:
        migrate(message=message, head="core@head")
        return
    folder = next((d for d in plugin_migration_dirs(current_app) if os.path.basename(os.path.dirname(d)) == plugin), None)
    if folder is None:
        raise click.ClickException(f"plugin {plugin} has no migrations/ folder")
    migrate(message=message, head=f"{plugin}@head", x_arg=[f"plugin={plugin}"])


@db.command("current")
@with_appcontext
def db_current():
    """Show the revision(s) the database is at."""
    from flask_migrate import current

    current()


@db.command("check")
@with_appcontext
def db_check():
    """Fail when the models and the migrations disagree."""
    from flask_migrate import check

    check()


# --- plugins ------------------------------------------------------------------------------

@main.group(invoke_without_command=True)
@click.pass_context
@with_appcontext
def plugins(ctx):
    """List installed plugins: name, version, hooks, enabled state (and import errors)."""
    if ctx.invoked_subcommand is not None:
        return
    from core.plugins import state

    for info in sorted(state().infos.values(), key=lambda i: i.name):
        status = "enabled" if info.enabled else ("FAILED: " + info.error if info.error else "disabled")
        click.echo(f"{info.name:<18} {info.version:<9} {status}")
        if info.institutions:
            click.echo(f"    institutions: {', '.join(info.institutions)}")
        if info.hooks:
            click.echo(f"    hooks: {', '.join(info.hooks)}")
        if info.templates:
            click.echo(f"    templates: {info.templates}")
        if info.migrations:
            click.echo(f"    migration branch: {info.migrations}")


@plugins.command("check")
@click.argument("names", nargs=-1)
def plugins_check(names):
    """Run the plugin contract on installed plugins NAMES (default: every enabled one)."""
    from core.plugins import BUILTIN_PREFIX, state
    from core.testing.plugin_contract import contract_problems

    names = names or [n for n, info in sorted(state().infos.items())
                      if info.enabled and not n.startswith(BUILTIN_PREFIX) and info.version != "extra"]
    failed = False
    for name in names:
        try:
            problems = contract_problems(name)
        except LookupError as exc:
            problems = [str(exc)]
        failed = failed or bool(problems)
        click.echo(f"{name}: " + ("passes the contract" if not problems else "FAILS"))
        for problem in problems:
            click.echo(f"    {problem}")
    if failed:
        raise SystemExit(1)


@plugins.command("catalogue")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--languages", default="", help="Comma-separated languages (default: those of the "
              "folders already in translations/, else nl,fr).")
def plugins_catalogue(path, languages):
    """Extract a plugin package's strings into its catalogue and compile it (PATH: the package
    folder, or the project folder holding one package)."""
    from pathlib import Path

    from core.plugin_translations import FOLDER, untranslated, update_catalogue

    package = Path(path)
    if not any(package.glob("*.py")):
        inner = [child for child in package.iterdir() if (child / "__init__.py").is_file()]
        if len(inner) != 1:
            raise click.BadParameter("give the plugin's package folder", param_hint="PATH")
        package = inner[0]
    chosen = [code.strip() for code in languages.split(",") if code.strip()] or sorted(
        folder.name for folder in (package / FOLDER).glob("*") if folder.is_dir()) or ["fr", "nl"]
    for po in update_catalogue(package, chosen):
        click.echo(f"  {po}")
    for language, messages in untranslated(package, chosen).items():
        click.echo(f"{language}: {len(messages)} string(s) still to translate")


@plugins.command("new")
@click.argument("slug")
@click.option("--path", "parent", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder in which to create microfin-SLUG/.")
def plugins_new(slug, parent):
    """Create a working institution plugin SLUG as its own package in PATH/microfin-SLUG/."""
    from pathlib import Path

    from core.plugins import state
    from core.skeleton import write_skeleton

    if not slug.isidentifier() or slug != slug.lower() or slug.startswith("_"):
        raise click.BadParameter("a slug is a lowercase Python identifier, such as 'mymfi'", param_hint="SLUG")
    if slug in state().infos or slug in state().institutions:
        raise click.BadParameter(f"a plugin or institution named {slug!r} already exists", param_hint="SLUG")
    target = Path(parent) / f"microfin-{slug}"
    if target.exists():
        raise click.ClickException(f"{target} already exists")
    for path in write_skeleton(slug, target):
        click.echo(f"  wrote {path}")
    click.echo(f"Next: .venv/bin/pip install -e {target} && .venv/bin/microfin plugins && "
               f".venv/bin/pytest {target / 'tests'}")


# --- users --------------------------------------------------------------------------------

@main.group()
def users():
    """Manage user accounts (operators)."""


@users.command("add")
@click.argument("email")
@click.option("--role", required=True,
              type=click.Choice(["admin", "officer", "coach", "auditor", "operator", "referrer"]))
@click.option("--institution", "institution_slug", help="Slug of the institution (institution roles).")
@click.option("--referrer", "referrer_name",
              help="Name of the referrer organisation (role referrer: an adviser on the portal).")
@click.option("--name", help="Full name (default: the part of the email before @).")
@click.option("--language", default="en", type=click.Choice(["nl", "fr", "en"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_add(email, role, institution_slug, referrer_name, name, language, password_stdin):
    """Create a user. Without --password-stdin the user gets no password and cannot sign in.

    An adviser of a bank or public financier: --role referrer --referrer NAME (the portal)."""
    from core.services import accounts, audit, referrers
    from core.services.errors import NotFound, ValidationFailed
    from core.services.institutions import by_slug

    referrer_id = None
    if referrer_name:
        try:
            referrer_id = referrers.by_name(referrer_name).id
        except NotFound:
            raise click.BadParameter(f"no referrer {referrer_name!r} (see: microfin referrers list)",
                                     param_hint="--referrer") from None
    elif role == "referrer":
        raise click.BadParameter("a referrer user needs --referrer NAME", param_hint="--referrer")
    institution_id = None
    if institution_slug:
        institution = by_slug(institution_slug)
        if institution is None or not institution.enabled:
            raise click.BadParameter(f"no enabled institution {institution_slug!r}", param_hint="--institution")
        institution_id = institution.id
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        with audit.acting_as("cli"):
            user = accounts.create_user(email=email, name=name or email.split("@")[0], role=role,
                                        institution_id=institution_id, password=password,
                                        preferred_language=language, referrer_id=referrer_id)
    except ValidationFailed as failed:
        raise click.ClickException("; ".join(f"{k or 'input'}: {v}" for k, v in failed.errors.items()))
    click.echo(f"created {user.email} ({user.role}" + (f", {referrer_name}" if referrer_id else "") + ")")


@users.command("reset-2fa")
@click.argument("email")
@with_appcontext
def users_reset_2fa(email):
    """Remove a user's second factor (a locked-out operator): they set it up again at their next
    sign-in. Audited (actor ``cli``) and mailed to the user."""
    from core.services import second_factor
    from core.services.errors import NotFound

    try:
        user = second_factor.reset_by_email(email)
    except NotFound:
        raise click.ClickException(f"no user {email!r}")
    click.echo(f"second factor of {user.email} reset: they set it up again at their next sign-in")


# --- compliance -----------------------------------------------------------------------------

@main.group()
def compliance():
    """Code-of-conduct catalogues (federation)."""


@compliance.command("import-catalogue")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def compliance_import(path):
    """Load a catalogue from a YAML file, or update the one with the same code and version."""
    from core.services import audit
    from core.services.compliance.catalogue import CatalogueError, clause_count, import_file

    try:
        with audit.acting_as("cli"):
            catalogue = import_file(path)
    except CatalogueError as error:
        raise click.ClickException(f"{path} was not loaded; nothing changed:\n  "
                                   + "\n  ".join(error.problems))
    click.echo(f"loaded {catalogue.code} {catalogue.version}: {len(catalogue.sections)} sections, "
               f"{clause_count(catalogue)} clauses")


@compliance.command("export-catalogue")
@click.argument("code")
@click.argument("version")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def compliance_export(code, version, path):
    """Write catalogue CODE VERSION to a YAML file in the import format."""
    from core.services.compliance.catalogue import export_catalogue, find

    catalogue = find(code, version)
    if catalogue is None:
        raise click.ClickException(f"no catalogue {code} {version}")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(export_catalogue(catalogue))
    click.echo(f"wrote {code} {version} to {path}")


# --- demo and serving ---------------------------------------------------------------------

@main.command()
@with_appcontext
def demo():
    """Create or upgrade the database and load demo data (idempotent; passwords printed once)."""
    from core.demo import load_demo

    upgrade_database()
    created = load_demo()
    if created:
        click.echo("Demo accounts (passwords are shown only now):")
        for email, role, institution, password in created:
            click.echo(f"  {email:<38} {role:<9} {institution or '-':<11} {password}")
    else:
        click.echo("Demo data already present; passwords were printed when it was first loaded.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host, port):
    """Serve the app (threaded, for a single machine; see docs/deploy.md for gunicorn)."""
    from werkzeug.serving import run_simple

    app = _create_app()
    click.echo(f"Microfin CRM on http://{host}:{port}/")
    run_simple(host, port, app, threaded=True, use_reloader=False)


# --- data keys ----------------------------------------------------------------------------------

@main.group()
def keys():
    """The data keys that encrypt national numbers, second-factor and webhook secrets (docs/deploy.md)."""


def _key_source() -> str:
    from pathlib import Path

    from core.config import data_key_file

    key_file = data_key_file(Path(current_app.instance_path))
    return f"the instance file {key_file}" if key_file else "the environment (MICROFIN_DATA_KEYS or MICROFIN_DATA_KEY)"


def _print_reports(reports, verb: str) -> None:
    for report in reports:
        click.echo(f"  {report.label:<22} {verb} {report.rotated:>6}   already under the newest key "
                   f"{report.current:>6}   unreadable {report.unreadable:>4}")


@keys.command("status")
@with_appcontext
def keys_status():
    """How many stored values each key still holds (nothing is written)."""
    from core.services import data_keys

    configured = data_keys.configured_keys()
    click.echo(f"{len(configured)} data key(s) configured, newest first, from {_key_source()}")
    reports = data_keys.status()
    _print_reports(reports, "under an older key")
    if any(r.unreadable for r in reports):
        raise click.ClickException("some values are readable by no configured key: an old key is missing")


@keys.command("add")
@with_appcontext
def keys_add():
    """Make a new data key. Kept in the instance file: written there first (the others stay, to
    decrypt). Configured in the environment: printed, for you to put first in MICROFIN_DATA_KEYS."""
    from pathlib import Path

    from core.config import data_key_file, new_data_key, write_data_keys
    from core.services import data_keys

    key = new_data_key()
    key_file = data_key_file(Path(current_app.instance_path))
    if key_file is None:
        click.echo("The data keys come from the environment. Set, newest first, then restart every "
                   "process (web, worker, chores) and run `microfin keys rotate`:")
        click.echo(f"  MICROFIN_DATA_KEYS={key},<your current key(s)>")
        return
    write_data_keys(key_file, [key, *data_keys.configured_keys()])
    click.echo(f"A new data key is first in {key_file} (mode 600); the older ones still decrypt.")
    click.echo("Restart every process (web, worker, chores), then run `microfin keys rotate`.")


@keys.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Values re-encrypted per transaction.")
@with_appcontext
def keys_rotate(batch_size):
    """Re-encrypt every encrypted value with the newest data key (idempotent: run it again after
    an interruption). Afterwards the older keys can be removed (`microfin keys prune`)."""
    from core.services import audit, data_keys

    configured = data_keys.configured_keys()
    click.echo(f"Re-encrypting with the newest of {len(configured)} data key(s)…")
    with audit.acting_as("cli"):
        reports = data_keys.rotate(batch_size=batch_size)
        audit.record_event("keys-rotated", "data_keys", {
            r.label: {"rotated": r.rotated, "current": r.current, "unreadable": r.unreadable} for r in reports})
        from core.extensions import db

        db.session.commit()
    _print_reports(reports, "re-encrypted")
    if any(r.unreadable for r in reports):
        raise click.ClickException("some values are readable by no configured key and were left as they were")
    click.echo("Every encrypted value is now under the newest key.")


@keys.command("prune")
@with_appcontext
def keys_prune():
    """Remove the older keys from the instance file, once `keys rotate` left nothing under them."""
    from pathlib import Path

    from core.config import data_key_file, write_data_keys
    from core.services import data_keys

    reports = data_keys.status()
    left = sum(r.rotated + r.unreadable for r in reports)
    if left:
        raise click.ClickException(f"{left} value(s) are not under the newest key yet: run `microfin keys rotate` first")
    configured = data_keys.configured_keys()
    key_file = data_key_file(Path(current_app.instance_path))
    if key_file is None:
        click.echo("Nothing is left under the older keys: remove them from MICROFIN_DATA_KEYS "
                   "(keep only the first) and restart every process.")
        return
    if len(configured) == 1:
        click.echo("Only one data key is configured: nothing to remove.")
        return
    write_data_keys(key_file, configured[:1])
    click.echo(f"Removed {len(configured) - 1} older key(s) from {key_file}; restart every process.")


# --- the audit trail's personal values ------------------------------------------------------------

@main.group("audit")
def audit_group():
    """The audit trail (docs/deploy.md, "Security")."""


@audit_group.command("seal")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Audit entries read per transaction.")
@with_appcontext
def audit_seal(batch_size):
    """Encrypt the personal values older entries hold in clear with the key of their person (once,
    after upgrading past revision shred_01; idempotent, resumable)."""
    from core.extensions import db
    from core.services import audit

    with audit.acting_as("cli"):
        read, written = audit.seal_history(batch_size=batch_size)
        audit.record_event("audit-sealed", "audit_entries", {"read": read, "sealed": written})
        db.session.commit()
    click.echo(f"read {read} entries of records with personal values, sealed {written}")


# --- referrers and the webhook worker -------------------------------------------------------

@main.group()
def referrers():
    """Banks and public financiers that send referrals through the API (operators)."""


def _validation_exit(failed) -> None:
    raise click.ClickException("; ".join(f"{k or 'input'}: {v}" for k, v in failed.errors.items()))


@referrers.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["bank", "public"]))
@click.option("--webhook-url", help="https:// address that receives status changes.")
@click.option("--webhook-secret-stdin", is_flag=True, help="Read the webhook signing secret from standard input.")
@click.option("--expires", "expires_on", metavar="YYYY-MM-DD",
              help="The first token stops working when this day starts (Brussels time); default: never.")
@with_appcontext
def referrers_add(name, kind, webhook_url, webhook_secret_stdin, expires_on):
    """Add a referrer organisation and print its first API token (shown once)."""
    from core.services import audit
    from core.services import referrers as service
    from core.services.errors import ValidationFailed

    secret = sys.stdin.readline().rstrip("\n") if webhook_secret_stdin else None
    try:
        with audit.acting_as("cli"):
            issued = service.add_referrer(name=name, kind=kind, webhook_url=webhook_url, webhook_secret=secret,
                                          expires_on=expires_on)
    except ValidationFailed as failed:
        _validation_exit(failed)
    click.echo(f"added {issued.referrer.name} ({issued.referrer.kind})")
    click.echo(f"API token (shown only now): {issued.secret}")
    if issued.token.expires_at:
        click.echo(f"expires at {issued.token.expires_at.isoformat()}")


@referrers.command("token")
@click.argument("name")
@click.option("--expires", "expires_on", metavar="YYYY-MM-DD",
              help="The token stops working when this day starts (Brussels time); default: never.")
@with_appcontext
def referrers_token(name, expires_on):
    """Issue another API token for a referrer (several may be active)."""
    from core.services import audit
    from core.services import referrers as service
    from core.services.errors import NotFound, ValidationFailed

    try:
        with audit.acting_as("cli"):
            issued = service.issue_token(name, expires_on)
    except NotFound:
        raise click.ClickException(f"no referrer named {name!r}")
    except ValidationFailed as failed:
        raise click.BadParameter(str(failed.errors["expires_on"]), param_hint="--expires")
    click.echo(f"API token (shown only now): {issued.secret}")
    if issued.token.expires_at:
        click.echo(f"expires at {issued.token.expires_at.isoformat()}")


@referrers.command("revoke")
@click.argument("hint")
@with_appcontext
def referrers_revoke(hint):
    """Revoke the token starting with HINT (as `referrers list` shows it)."""
    from core.services import audit
    from core.services import referrers as service
    from core.services.errors import NotFound

    try:
        with audit.acting_as("cli"):
            service.revoke_token(hint)
    except NotFound:
        raise click.ClickException(f"no active token {hint!r}")
    click.echo(f"revoked {hint}")


@referrers.command("list")
@with_appcontext
def referrers_list():
    """List referrers, their webhook and their tokens (hints only)."""
    from core.models.types import utcnow
    from core.services import referrers as service

    for referrer in service.all_referrers():
        click.echo(f"{referrer.name} ({referrer.kind}) webhook: {referrer.webhook_url or '-'}")
        now = utcnow()
        for token in referrer.tokens:
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else \
                f"expired {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expired(now) else "active"
            expiry = f"  expires {token.expires_at:%Y-%m-%d %H:%M} UTC" \
                if token.expires_at and not token.expired(now) else ""
            used = f"{token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never"
            click.echo(f"    {token.hint}…  {state}{expiry}  last used {used}")


@referrers.command("link")
@click.argument("name")
@click.option("--qr", "qr_file", type=click.Path(dir_okay=False, writable=True),
              help="Also write the link as a QR code to this .svg or .png file (to print on refusal letters).")
@click.option("--lang", type=click.Choice(["nl", "fr", "en", "de"]),
              help="Open the form in this language (default: the reader's browser language).")
@with_appcontext
def referrers_link(name, qr_file, lang):
    """Print the referrer's self-referral link (/refer/<code>); a referral through it counts for it."""
    from pathlib import Path

    from core.services import audit
    from core.services import referrers as service
    from core.services import self_referrals
    from core.services.errors import NotFound

    image_format = Path(qr_file).suffix.lower().lstrip(".") if qr_file else None
    if image_format not in (None, "svg", "png"):
        raise click.BadParameter("the QR code file must end in .svg or .png", param_hint="--qr")
    try:
        referrer = service.by_name(name)
    except NotFound:
        raise click.ClickException(f"no referrer named {name!r}")
    with audit.acting_as("cli"):
        url = self_referrals.link_url(referrer, lang)
    click.echo(url)
    if qr_file:
        Path(qr_file).write_bytes(self_referrals.qr_code(url, image_format))
        click.echo(f"QR code written to {qr_file}", err=True)


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.")
@click.option("--name", default=None, help="Worker name in the delivery log (default: host and pid).")
@with_appcontext
def worker(once, interval, name):
    """Deliver webhooks to referrers and mails, and move overdue referral offers on."""
    import os
    import socket
    import time

    from core.services import chores, outbox, referrals, webhooks

    name = name or f"{socket.gethostname()}:{os.getpid()}"
    while True:
        moved = referrals.expire_overdue()
        sent = webhooks.deliver_due(name)
        mailed = outbox.deliver_due(worker=name)
        ran = chores.run_due(worker=name)
        if once:
            click.echo(f"delivered {sent} message(s), re-routed {moved} overdue offer(s), "
                       f"sent {mailed} mail(s), ran {len(ran)} chore(s)")
            return
        time.sleep(interval)


# --- lending --------------------------------------------------------------------------------

@main.group("import")
def import_():
    """Bring existing data in from files."""


@import_.command("portfolio")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--institution", "slug", required=True, help="Slug of the institution the portfolio belongs to.")
@click.option("--dry-run", is_flag=True, help="Check every row, write nothing.")
@with_appcontext
def import_portfolio(path, slug, dry_run):
    """Import clients, loans and schedules from a portfolio CSV, all or nothing."""
    from core.services import portfolio_writer
    from core.services.institutions import by_slug
    from core.tenancy import acting_for

    institution = by_slug(slug)
    if institution is None:
        raise click.ClickException(f"no institution {slug!r}")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        total = max(sum(1 for _ in handle) - 1, 0)
        handle.seek(0)
        with click.progressbar(length=total * (1 if dry_run else 2), label="checking and writing",
                               file=sys.stderr) as bar:
            done = {"n": 0}

            def progress(count):  # counts restart from 0 when writing starts after checking
                bar.update(count - done["n"] if count >= done["n"] else count)
                done["n"] = count

            with acting_for(institution.id):
                result = portfolio_writer.import_portfolio(handle, dry_run=dry_run, progress=progress)
    for error in result.errors:
        click.echo(f"line {error.line}, column {error.column}: {error.message}", err=True)
    if not result.ok:
        raise click.ClickException(f"{len(result.errors)} error(s): nothing was written")
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {result.clients} client(s) and {result.loans} loan(s) from {result.rows} row(s)")


@import_.command("followups")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--institution", "slug", required=True, help="Slug of the institution the survey results belong to.")
@with_appcontext
def import_followups(path, slug):
    """Import past follow-up survey results from a CSV, all or nothing (docs/followups.md)."""
    from core.services import followup_import
    from core.services.institutions import by_slug
    from core.tenancy import acting_for

    institution = by_slug(slug)
    if institution is None:
        raise click.ClickException(f"no institution {slug!r}")
    with open(path, encoding="utf-8-sig", newline="") as handle, acting_for(institution.id):
        result = followup_import.import_followups(handle)
    for error in result.errors:
        click.echo(f"line {error.line}, column {error.column}: {error.message}", err=True)
    if not result.ok:
        raise click.ClickException(f"{len(result.errors)} error(s): nothing was written")
    click.echo(f"imported {result.written} follow-up(s) from {result.rows} row(s)")


@main.group("loans")
def loans_group():
    """Lending chores."""


@loans_group.command("check-arrears")
@click.option("--on", "on", default=None, help="Date to check (YYYY-MM-DD, default today).")
@with_appcontext
def loans_check_arrears(on):
    """Tell listeners (loan.instalment_late) once about each newly late instalment, every institution."""
    from datetime import date

    from sqlalchemy import select

    from core.extensions import db
    from core.models import Institution
    from core.services import repayments
    from core.tenancy import acting_for, all_institutions

    day = date.fromisoformat(on) if on else clock.today()
    with all_institutions("check arrears of every institution"):
        ids = list(db.session.scalars(select(Institution.id)))
    total = 0
    for institution_id in ids:
        with acting_for(institution_id):
            total += repayments.check_arrears(day)
    click.echo(f"{total} late instalment(s) told")


def _position_institutions(slug):
    """(id, slug) of the institution named, or of every institution."""
    from sqlalchemy import select

    from core.extensions import db
    from core.models import Institution
    from core.tenancy import all_institutions

    with all_institutions("stored loan positions of every institution"):
        query = select(Institution.id, Institution.slug).order_by(Institution.slug)
        found = db.session.execute(query.where(Institution.slug == slug) if slug else query).all()
    if slug and not found:
        raise click.UsageError(f"no institution {slug!r}")
    return found


@loans_group.command("verify")
@click.option("--institution", "slug", default=None, help="Only this institution (its slug).")
@with_appcontext
def loans_verify(slug):
    """Replay every ledger through the engine; list each loan whose stored position differs (exit 1)."""
    from core.services import positions
    from core.tenancy import acting_for

    differences = []
    for institution_id, name in _position_institutions(slug):
        with acting_for(institution_id):
            for found in positions.verify():
                differences.append(found)
                click.echo(f"{name} loan {found.loan_id}: {found.field} stored {found.stored}, "
                           f"replayed {found.replayed}")
    if differences:
        click.echo(f"{len({d.loan_id for d in differences})} loan(s) differ; "
                   "`microfin loans refresh-positions` recomputes them")
        raise SystemExit(1)
    click.echo("stored positions equal the replayed ledgers")


@loans_group.command("refresh-positions")
@click.option("--institution", "slug", default=None, help="Only this institution (its slug).")
@with_appcontext
def loans_refresh_positions(slug):
    """Recompute every stored loan position from its ledger (after an upgrade or a repair)."""
    from core.services import positions
    from core.tenancy import acting_for

    total = 0
    for institution_id, _ in _position_institutions(slug):
        with acting_for(institution_id):
            total += positions.refresh_all()
    click.echo(f"{total} loan position(s) refreshed")
@loans_group.group("snapshots")
def loans_snapshots():
    """Month-end portfolio snapshots (the history the portfolio report's trend reads)."""


@loans_snapshots.command("rebuild")
@click.option("--institution", "slug", default=None, help="Only this institution (its slug).")
@click.option("--since", default=None, metavar="DATE", help="From this date's month end (YYYY-MM-DD; "
              "default: the institution's first disbursement).")
@with_appcontext
def loans_snapshots_rebuild(slug, since):
    """Rewrite the snapshot of every closed month end from the ledgers (all institutions, or one)."""
    from datetime import date

    from core.services import snapshots

    try:
        start = date.fromisoformat(since) if since else None
    except ValueError:
        raise click.UsageError("--since: enter a date as YYYY-MM-DD") from None
    total = sum(snapshots.rebuild(institution_id, start) for institution_id, _ in _position_institutions(slug))
    click.echo(f"{total} snapshot(s) written")


# --- reports ----------------------------------------------------------------------------------

@main.group()
def report():
    """Impact and portfolio reports of an institution or of the whole sector (docs/reports.md)."""


def _report_scope(institution, sector):
    from core.services.reports.common import institution_scope, sector_scope

    if bool(institution) == bool(sector):
        raise click.UsageError("give either --institution SLUG or --sector")
    return sector_scope() if sector else institution_scope(institution)


def _report_options(command):
    command = click.option("--format", "output", type=click.Choice(["json", "csv"]), required=True,
                           help="json or csv")(command)
    command = click.option("--to", "end", metavar="DATE", help="last day of the period (YYYY-MM-DD)")(command)
    command = click.option("--from", "start", metavar="DATE", help="first day of the period (YYYY-MM-DD)")(command)
    command = click.option("--sector", is_flag=True, help="the whole sector (cells under 5 persons: \"<5\")")(command)
    command = click.option("--institution", metavar="SLUG", help="one institution, e.g. microstart")(command)
    return command


def _usage_errors(build):
    """Run ``build``; a ``ValidationFailed`` becomes a usage error (exit code 2) naming the option."""
    from core.services.errors import ValidationFailed

    try:
        return build()
    except ValidationFailed as failed:
        raise click.UsageError("; ".join(f"--{field}: {message}" for field, message in failed.errors.items()))


@report.command("impact")
@_report_options
@with_appcontext
def report_impact(institution, sector, start, end, output):
    """Persons and amounts financed, by target group, sector and region."""
    import json

    from core.services.reports import exports
    from core.services.reports.common import parse_period
    from core.services.reports.impact import impact_report

    data = _usage_errors(lambda: impact_report(_report_scope(institution, sector), parse_period(start, end)))
    if output == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(exports.to_csv(exports.impact_sheets(data), for_people=False), nl=False)


@report.command("portfolio")
@_report_options
@click.option("--at", metavar="DATE", help="date of the portfolio figures (default: today)")
@with_appcontext
def report_portfolio(institution, sector, start, end, output, at):
    """Portfolio at a date; disbursements, write-offs, repayment and the monthly trend of a period."""
    import json

    from core.services.reports import exports
    from core.services.reports.common import parse_date, parse_period
    from core.services.reports.portfolio import portfolio_report

    def build():
        scope = _report_scope(institution, sector)
        day = parse_date(at, "at") or clock.today()
        period = parse_period(start, end)
        return portfolio_report(scope, day, period if (period.start or period.end) else None)

    data = _usage_errors(build)
    if output == "json":
        click.echo(json.dumps(data.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(exports.to_csv(exports.portfolio_sheets(data), for_people=False), nl=False)
