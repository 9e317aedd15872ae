"""Scheduled chores: once per period with two workers, results kept and shown to the operator."""
from __future__ import annotations

import threading
from datetime import datetime, time, timezone

from sqlalchemy import select

from core.extensions import db
from core.models.chores import ChoreRun
from core.services import chores

CALLS: list[str] = []


def count_a_call():
    """A chore for the tests: counts its calls (a real function, called through the registry)."""
    CALLS.append("called")
    return f"call {len(CALLS)}"


def explode():
    raise RuntimeError("the disk is full")


TEST_CHORE = chores.Chore("test-count", "daily", "tests.test_chores:count_a_call", at=time(2, 0))
MORNING = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)  # 08:00 in Brussels


def test_a_daily_chore_runs_once_per_day_and_not_before_its_time(app):
    CALLS.clear()
    early = datetime(2026, 12, 2, 0, 30, tzinfo=timezone.utc)  # 01:30 in Brussels
    assert chores.run_due(early, chores=[TEST_CHORE]) == []
    [run] = chores.run_due(MORNING, chores=[TEST_CHORE], worker="w1")
    assert run.ok and run.result == "call 1" and run.period_key == "2026-12-02"
    assert chores.run_due(MORNING.replace(hour=20), chores=[TEST_CHORE]) == []
    assert len(chores.run_due(MORNING.replace(day=3), chores=[TEST_CHORE])) == 1
    assert CALLS == ["called", "called"]


def test_two_workers_run_a_chore_once_per_period(mail_app):
    CALLS.clear()
    barrier = threading.Barrier(2)
    done = {}

    def work(name):
        with mail_app.app_context():
            barrier.wait()
            done[name] = len(chores.run_due(MORNING, chores=[TEST_CHORE], worker=name))
            db.session.remove()

    threads = [threading.Thread(target=work, args=(f"node-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(done.values()) == [0, 1] and CALLS == ["called"]
    assert len(db.session.scalars(select(ChoreRun)).all()) == 1


def test_a_failing_chore_is_recorded_and_shown_to_the_operator(app, operator, as_user):
    failing = chores.Chore("test-explode", "hourly", "tests.test_chores:explode")
    [run] = chores.run_due(MORNING, chores=[failing, TEST_CHORE][:1], worker="w9")
    assert run.ok is False and "the disk is full" in run.result and run.finished_at is not None
    chores.CHORES.append(failing)
    try:
        page = as_user(operator).get("/operator/worker").get_data(as_text=True)
    finally:
        chores.CHORES.remove(failing)
    assert "test-explode" in page and "RuntimeError: the disk is full" in page and "w9" in page
    assert "check-arrears" in page and "never" in page


def test_the_registered_chores_run_from_the_worker_command(app, runner):
    from core.cli import main

    result = runner.invoke(main, ["worker", "--once", "--name", "test"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    names = {run.chore for run in db.session.scalars(select(ChoreRun))}
    due_now = {c.name for c in chores.CHORES
               if c.is_due(datetime.now(timezone.utc).astimezone(chores.BRUSSELS))}
    assert names == due_now
    assert all(run.ok for run in db.session.scalars(select(ChoreRun))), [
        run.result for run in db.session.scalars(select(ChoreRun))]


def test_operator_only(app, staff_a, as_user):
    assert as_user(staff_a.admin).get("/operator/worker").status_code == 403
