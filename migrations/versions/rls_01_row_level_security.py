"""rls: PostgreSQL row-level security on every tenant-owned table

Revision ID: rls_01
Revises: lists_01

PostgreSQL only (SQLite has no row-level security: the upgrade and downgrade do nothing there).
Each table below gets RLS enabled and forced (the owner too is subject to it, except a
superuser) and these policies, all on transaction-local settings that ``core.database_setup``
writes from the tenant context (never from request input):

- ``microfin_tenant`` (every table): rows whose ``institution_id`` is ``microfin.institution_id``,
  for reading and writing (WITH CHECK: no row can be written into another institution);
- ``microfin_system`` (every table): everything while ``microfin.scope`` is ``system`` (the worker,
  the CLI, sign-in before the tenant is known, the operator's screens);
- ``microfin_refresh_read`` (every table): read only, while the scope is ``refresh``: set only for
  the statements with which SQLAlchemy reloads the columns of an object the session already holds
  (by its primary key, after a commit expired it), the loads the ORM scoping never filters either;
- ``microfin_report_read`` (every ``TENANT_OWNED`` table): read only, while the scope is ``report``
  (the sector reports, which aggregate across institutions);
- ``microfin_trail_insert`` (audit entries): adding an entry in any context. The trail is
  append-only and written by the audit layer for each record flushed, which its own table's
  policies checked; an entry is read back only by its institution (or the federation, or system);
- ``microfin_sector_insert`` (notifications): adding a notice of no institution (to federation
  staff) in any context;
- the registry's (scope ``registry``): read, create and update referral offers; read plugin
  settings (routing weighs each institution under its own); add notifications;
- the federation's (scope ``federation``): read and review (update) submitted assessments, never
  a draft (the check is in the policy); read the answers, evidence files and comments of submitted
  assessments; add an auditor's comment to a submitted assessment; read users (names in the
  history) and the compliance records' audit entries; add notifications;
- ``microfin_self`` (users): the signed-in user's own row (``microfin.user_id``), read and
  changed: federation and operator staff belong to no institution.

Not here: the registry's tables (referrals, referrers, their tokens, the outboxes) and
``subject_keys`` (a person's key, of a client or of a referral's applicant) have no institution;
their services scope them, and a person's key is itself encrypted with the data key.

Without any setting nothing is visible and nothing can be written. The table list is frozen here;
``tests/test_rls.py`` refuses a tenant model whose table has no RLS, so a later table adds its
own policies in its revision (``enable(table)`` below shows the statements).
"""
from alembic import op

revision = 'rls_01'
down_revision = 'lists_01'
branch_labels = None
depends_on = None

INSTITUTION = "NULLIF(current_setting('microfin.institution_id', true), '')::integer"
SCOPE = "current_setting('microfin.scope', true)"
USER = "NULLIF(current_setting('microfin.user_id', true), '')::integer"

#: Tables of ``TenantOwned`` models (institution_id required).
TENANT_OWNED = (
    "agreed_actions", "client_export_chunks", "client_exports", "client_field_values", "client_notes",
    "clients", "coaching_sessions", "coaching_tracks", "compliance_answers", "compliance_assessments",
    "compliance_comments", "compliance_evidence_files", "consents", "enrolments", "followups",
    "institution_budgets", "loan_field_values", "loan_import_runs", "loan_late_notices", "loan_ledger",
    "loan_positions", "loan_schedule_lines", "loans", "plugin_settings", "portfolio_snapshots",
    "referral_offers", "saved_filters", "social_return_assumptions", "statement_files", "statement_lines",
    "submission_tokens", "trainings",
)
#: Tables of ``TenantScoped`` models (institution_id may be empty: federation and operator staff,
#: sector-wide audit entries); their rows without an institution are visible to crossings only.
TENANT_SCOPED = ("audit_entries", "notification_preferences", "notifications", "users")

_SUBMITTED = "status <> 'draft'"
_OF_SUBMITTED = ("EXISTS (SELECT 1 FROM compliance_assessments a "
                 "WHERE a.id = assessment_id AND a.status <> 'draft')")

#: (table, policy name, command, USING, WITH CHECK) of the registry's and the federation's reads.
NARROW = (
    ("referral_offers", "microfin_registry_read", "SELECT", f"{SCOPE} = 'registry'", None),
    ("referral_offers", "microfin_registry_insert", "INSERT", None, f"{SCOPE} = 'registry'"),
    ("referral_offers", "microfin_registry_update", "UPDATE", f"{SCOPE} = 'registry'", f"{SCOPE} = 'registry'"),
    ("plugin_settings", "microfin_registry_read", "SELECT", f"{SCOPE} = 'registry'", None),
    ("audit_entries", "microfin_trail_insert", "INSERT", None, "true"),
    ("notifications", "microfin_sector_insert", "INSERT", None, "institution_id IS NULL"),
    ("notifications", "microfin_crossing_insert", "INSERT", None, f"{SCOPE} IN ('registry', 'federation')"),
    ("compliance_assessments", "microfin_federation_read", "SELECT",
     f"{SCOPE} = 'federation' AND {_SUBMITTED}", None),
    ("compliance_assessments", "microfin_federation_review", "UPDATE",
     f"{SCOPE} = 'federation' AND {_SUBMITTED}", f"{SCOPE} = 'federation' AND {_SUBMITTED}"),
    ("compliance_answers", "microfin_federation_read", "SELECT", f"{SCOPE} = 'federation' AND {_OF_SUBMITTED}", None),
    ("compliance_evidence_files", "microfin_federation_read", "SELECT",
     f"{SCOPE} = 'federation' AND {_OF_SUBMITTED}", None),
    ("compliance_comments", "microfin_federation_read", "SELECT", f"{SCOPE} = 'federation' AND {_OF_SUBMITTED}", None),
    ("compliance_comments", "microfin_federation_comment", "INSERT", None,
     f"{SCOPE} = 'federation' AND from_federation AND {_OF_SUBMITTED}"),
    ("users", "microfin_federation_read", "SELECT", f"{SCOPE} = 'federation'", None),
    ("users", "microfin_self", "ALL", f"id = {USER}", f"id = {USER}"),
    ("audit_entries", "microfin_federation_read", "SELECT",
     f"{SCOPE} = 'federation' AND record_type LIKE 'compliance\\_%'", None),  # the compliance trail only
)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _policy(table, name, command, using, check) -> None:
    parts = [f"CREATE POLICY {name} ON {table} FOR {command}"]
    if using:
        parts.append(f"USING ({using})")
    if check:
        parts.append(f"WITH CHECK ({check})")
    op.execute(" ".join(parts))


def enable(table: str, report: bool) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    mine = f"institution_id = {INSTITUTION}"
    _policy(table, "microfin_tenant", "ALL", mine, mine)
    _policy(table, "microfin_system", "ALL", f"{SCOPE} = 'system'", f"{SCOPE} = 'system'")
    _policy(table, "microfin_refresh_read", "SELECT", f"{SCOPE} = 'refresh'", None)
    if report:
        _policy(table, "microfin_report_read", "SELECT", f"{SCOPE} = 'report'", None)


def upgrade():
    if not _postgres():
        return
    for table in TENANT_OWNED:
        enable(table, report=True)
    for table in TENANT_SCOPED:
        enable(table, report=False)
    for policy in NARROW:
        _policy(*policy)


def downgrade():
    if not _postgres():
        return
    for table, name, *_ in NARROW:
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    for table in TENANT_OWNED + TENANT_SCOPED:
        for name in ("microfin_tenant", "microfin_system", "microfin_refresh_read", "microfin_report_read"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
