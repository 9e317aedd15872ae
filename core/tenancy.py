"""The current institution and automatic query scoping.

Every model an institution owns inherits ``TenantOwned``. Each ORM statement (select, update,
delete, relationship loads) gets ``institution_id = <current>`` added by a session event, so a
view cannot forget the filter. The current institution is the signed-in user's; outside a
request it is whatever ``acting_for`` set, and with neither it is *none*: queries find nothing.
Crossing tenants is explicit and logged: ``all_institutions(reason)``.

On PostgreSQL the same context is the second line of defence: ``database_setting()`` is what
``core.database_setup`` writes into each transaction (``microfin.institution_id`` and
``microfin.scope``, transaction-local), and row-level security policies check it. A crossing names
its *scope* (``registry``, ``federation``, ``report`` or, by default, ``system``); each scope's
policies let it reach only its own tables (see docs/architecture.md, "Row-level security"). The
scope comes from the code path only, never from request input.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context
from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria

log = logging.getLogger(__name__)

ALL = "all-institutions"
NOBODY = -1  # no institution has this id, so a scoped query with no tenant finds nothing

_override: ContextVar[int | str | None] = ContextVar("microfin_tenant", default=None)
_scope: ContextVar[str | None] = ContextVar("microfin_scope", default=None)

#: The database scopes of tenant crossings (the values of ``microfin.scope``): the worker, the CLI
#: and sign-in (``system``: every table); the referral registry's routing (``registry``: offers,
#: settings); the federation's compliance review (``federation``: submitted assessments); the
#: sector reports (``report``: read only).
SYSTEM, REGISTRY, FEDERATION, REPORT = "system", "registry", "federation", "report"
SCOPES = (SYSTEM, REGISTRY, FEDERATION, REPORT)


class TenantViolation(RuntimeError):
    """A write tried to put a record into, or move it to, another institution."""


class TenantScoped:
    """Queries of subclasses are filtered on ``institution_id``.

    The column is nullable here (users: federation and operator staff belong to no institution;
    audit entries of sector-wide records); ``TenantOwned`` makes it required.
    """

    @declared_attr
    def institution_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("institutions.id"), index=True, nullable=True)


class TenantOwned(TenantScoped):
    """Mixin for every row an institution owns."""

    @declared_attr
    def institution_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("institutions.id"), index=True, nullable=False)


def current_institution_id() -> int | str:
    """The id scoping applies now: an institution id, ``ALL``, or ``NOBODY``."""
    override = _override.get()
    if override is not None:
        return override
    if has_request_context():
        tenant = g.get("microfin_tenant")
        if tenant is not None:
            return tenant
    return NOBODY


def set_request_tenant(institution_id: int | None, user_id: int | None = None) -> None:
    """Called once per request, after the user is known (``user_id``: the signed-in user, whose
    own ``users`` row PostgreSQL's row-level security lets them read and change, federation and
    operator staff included)."""
    g.microfin_tenant = institution_id if institution_id is not None else NOBODY
    g.microfin_user = user_id


def current_user_id() -> int | None:
    """The signed-in user of this request, as ``set_request_tenant`` recorded it, or None."""
    return g.get("microfin_user") if has_request_context() else None


@contextmanager
def acting_for(institution_id: int):
    """Run a block (CLI, worker, tests) as the given institution."""
    token, clean = _override.set(institution_id), _session_clean()
    try:
        yield
        if clean:
            _flush_pending()
    finally:
        _override.reset(token)


@contextmanager
def all_institutions(reason: str, scope: str = SYSTEM):
    """Run a block across all institutions; the reason is logged. Keep such blocks narrow.

    ``scope`` is what PostgreSQL's row-level security lets the block reach (``SCOPES``); the
    registry, the federation and the reports pass theirs, anything else is ``system``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown tenant-crossing scope {scope!r}")
    log.debug("crossing tenants (%s): %s", scope, reason)
    clean = _session_clean()
    token, scope_token = _override.set(ALL), _scope.set(scope)
    try:
        yield
        if clean:
            _flush_pending()
    finally:
        _scope.reset(scope_token)
        _override.reset(token)


#: the scoping option of each institution id (and of NOBODY), made once per process: building it
#: (a lambda criterion analysed by SQLAlchemy) cost more than the rest of a small query's setup
_CRITERIA: dict = {}


def _criteria_for(tenant):
    option = _CRITERIA.get(tenant)
    if option is None:
        option = _CRITERIA[tenant] = with_loader_criteria(
            TenantScoped, lambda cls: cls.institution_id == tenant, include_aliases=True)
    return option


def _session() -> Session | None:
    from flask import has_app_context

    if not has_app_context():
        return None
    from core.extensions import db

    return db.session() if db.session.registry.has() else None


def _session_clean() -> bool:
    """True when the app's session has nothing waiting to be written (or there is none)."""
    session = _session()
    return session is None or session._is_clean()


def _flush_pending() -> None:
    """Write what a block added or changed while its context still holds, so that PostgreSQL's
    row-level security checks the rows under the context that made them (not the next one, at
    commit). Only for a block entered with nothing pending (what is pending now is the block's own;
    the caller's unfinished work is flushed by the caller), and not inside ``no_autoflush``."""
    session = _session()
    if session is not None and session.autoflush and not session._is_clean():
        session.flush()


def database_setting() -> tuple[str, str, str]:
    """(``microfin.institution_id``, ``microfin.scope``, ``microfin.user_id``) for the current
    context: an institution and no scope, a crossing's scope and no institution, or both empty
    (nothing is visible); and the signed-in user, if any."""
    user = current_user_id()
    user = "" if user is None else str(int(user))
    tenant = current_institution_id()
    if tenant == ALL:
        return "", _scope.get() or SYSTEM, user
    if tenant == NOBODY or tenant is None:
        return "", "", user
    return str(int(tenant)), "", user


def _scope_statement(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load:
        return
    tenant = current_institution_id()
    if tenant == ALL or state.execution_options.get("microfin_all_institutions"):
        return
    state.statement = state.statement.options(_criteria_for(tenant))


def _check_writes(session: Session, _flush_context, _instances) -> None:
    tenant = current_institution_id()
    if tenant == ALL:
        return
    for obj in session.new:
        if isinstance(obj, TenantOwned):
            if obj.institution_id is None and tenant != NOBODY:
                obj.institution_id = tenant
            if obj.institution_id != tenant:
                raise TenantViolation(f"cannot create {type(obj).__name__} in another institution")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped):
            history = _history(obj, "institution_id")
            if history.deleted and any(old is not None for old in history.deleted):
                raise TenantViolation(f"cannot move {type(obj).__name__} to another institution")


def _history(obj, attribute: str):
    from sqlalchemy import inspect

    return inspect(obj).attrs[attribute].history


def install() -> None:
    """Attach the scoping events to every SQLAlchemy session (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _scope_statement):
        event.listen(Session, "do_orm_execute", _scope_statement)
        event.listen(Session, "before_flush", _check_writes)


def get(model, record_id):
    """The record of the current institution with this id, or None.

    Prefer this over ``session.get``: that one answers from the identity map without a query,
    so an object loaded earlier under another scope would slip through; this always selects.
    """
    from sqlalchemy import select

    from core.extensions import db

    if record_id is None:
        return None
    primary_key = model.__mapper__.primary_key[0]
    return db.session.scalar(select(model).where(primary_key == record_id))
