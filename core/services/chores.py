"""Scheduled chores run by ``microfin worker``: each once per period, whatever the number of workers.

Adding a chore is one line in ``CHORES``::

    Chore("purge-old-exports", "daily", "core.services.exports:purge_old", at=time(3, 0)),

``period`` is ``hourly``, ``daily``, ``weekly`` or ``monthly`` (periods and ``at`` in Europe/Brussels
time); the function is called without arguments, outside any institution (loop over institutions
with ``acting_for`` inside it if needed), and what it returns is kept as its result. Before running,
a worker inserts a ``ChoreRun`` row for (chore, period): the unique key makes that insert the lease,
so on two workers on two nodes exactly one runs it. The operator sees the last run of each chore,
its worker and result on ``/operator/worker``.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.clock import BRUSSELS, today  # noqa: F401 (chores.today: the chores' calendar)
from core.extensions import db
from core.models.chores import ChoreRun
from core.models.types import utcnow

log = logging.getLogger(__name__)
PERIODS = ("hourly", "daily", "weekly", "monthly")


@dataclass(frozen=True)
class Chore:
    """A chore: its name, how often, the ``"module:function"`` to call, and the earliest local time."""

    name: str
    period: str
    target: str
    at: time | None = None

    def __post_init__(self):
        if self.period not in PERIODS:
            raise ValueError(f"chore {self.name}: period must be one of {PERIODS}")

    def period_key(self, local: datetime) -> str:
        """The period ``local`` (Brussels time) falls in, e.g. ``2026-12-02`` for a daily chore."""
        if self.period == "hourly":
            return local.strftime("%Y-%m-%dT%H")
        if self.period == "daily":
            return local.strftime("%Y-%m-%d")
        if self.period == "weekly":
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        return local.strftime("%Y-%m")

    def is_due(self, local: datetime) -> bool:
        """True once ``at`` has passed in the current period (always, without ``at``)."""
        return self.at is None or local.time() >= self.at

    def function(self):
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


def each_institution(check) -> list:
    """``check()`` acting for each institution in turn; the list of what each call returned."""
    from core.models import Institution
    from core.tenancy import acting_for, all_institutions

    with all_institutions("a daily check covers every institution"):
        ids = list(db.session.scalars(select(Institution.id).order_by(Institution.id)))
    results = []
    for institution_id in ids:
        with acting_for(institution_id):
            results.append(check())
    return results


def check_arrears_everywhere() -> int:
    """Tell listeners about newly late instalments of every institution (``loan.instalment_late``)."""
    from core.services import repayments

    return sum(each_institution(lambda: repayments.check_arrears(today())))


CHORES: list[Chore] = [
    Chore("check-arrears", "daily", "core.services.chores:check_arrears_everywhere", at=time(6, 0)),
    Chore("prune-login-attempts", "daily", "core.services.accounts:prune_login_attempts", at=time(3, 0)),
    Chore("notify-late-instalments", "daily", "core.services.notifications:late_instalments_everywhere",
          at=time(6, 15)),
    Chore("notify-deadlines", "daily", "core.services.notifications:daily_checks", at=time(6, 30)),
    Chore("notification-digest", "daily", "core.services.notifications:send_digests", at=time(7, 0)),
    Chore("portfolio-snapshots", "monthly", "core.services.snapshots:write_previous_month_everywhere",
          at=time(2, 0)),
    Chore("fail-stale-imports", "hourly", "core.services.portfolio_writer:fail_stale_runs"),
    Chore("database-statistics", "daily", "core.database_setup:refresh_statistics", at=time(3, 30)),
    Chore("purge-self-referral-requests", "daily", "core.services.self_referrals:purge_stale", at=time(3, 15)),
    Chore("purge-user-sessions", "daily", "core.services.user_sessions:purge", at=time(3, 5)),
    Chore("followups", "daily", "core.services.followups:send_due_everywhere", at=time(10, 0)),
    Chore("purge-retention", "daily", "core.services.erasure:purge_everywhere", at=time(3, 45)),
]


def _lease(chore: Chore, key: str, worker: str) -> ChoreRun | None:
    run = ChoreRun(chore=chore.name, period_key=key, worker=worker[:80], started_at=utcnow())
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None  # another worker has this period
    return run


def run_due(now: datetime | None = None, *, worker: str = "worker", chores: list[Chore] | None = None) -> list[ChoreRun]:
    """Run every chore due now whose period nobody has taken yet; returns the runs this worker did.

    A chore that raises is recorded as failed with the error; the others still run.
    """
    local = (now or utcnow()).astimezone(BRUSSELS)
    done = []
    for chore in CHORES if chores is None else chores:
        if not chore.is_due(local):
            continue
        run = _lease(chore, chore.period_key(local), worker)
        if run is None:
            continue
        try:
            result = chore.function()()
            db.session.commit()
            run.ok, run.result = True, str(result)[:2000] if result is not None else "done"
        except Exception as exc:
            log.exception("chore %s failed", chore.name)
            db.session.rollback()
            run.ok, run.result = False, f"{exc.__class__.__name__}: {exc}"[:2000]
        run.finished_at = utcnow()
        db.session.commit()
        done.append(run)
    return done


def last_runs() -> dict[str, ChoreRun]:
    """The newest run of each chore, by name (the operator's worker page)."""
    newest = select(ChoreRun.chore, func.max(ChoreRun.id).label("id")).group_by(ChoreRun.chore).subquery()
    rows = db.session.scalars(select(ChoreRun).join(newest, ChoreRun.id == newest.c.id))
    return {run.chore: run for run in rows}
