"""A portfolio import whose process died (issue 14, point 8): the worker marks the run failed, its
stored file is deleted, its author is told, and its page says so and stops polling."""
from __future__ import annotations

from datetime import timedelta

from core.extensions import db
from core.models import ImportRun, Notification
from core.models.types import utcnow
from core.services import portfolio_writer
from core.tenancy import acting_for, all_institutions


def _run(staff, status: str, minutes_ago: int) -> int:
    with acting_for(staff.institution_id):
        run = portfolio_writer.start_run("big.csv", "client_ref\n" + "x\n" * 1000, user=staff.admin)
        run.status, run.heartbeat_at = status, utcnow() - timedelta(minutes=minutes_ago)
        db.session.commit()
        return run.id


def _state(staff, run_id):
    db.session.expire_all()
    with acting_for(staff.institution_id):
        run = db.session.get(ImportRun, run_id)
        return run.status, run.content is None, portfolio_writer.run_errors(run)


def test_the_worker_fails_runs_whose_process_is_gone_and_leaves_live_ones(app, staff_a, staff_b):
    dead = _run(staff_a, "writing", minutes_ago=20)
    alive = _run(staff_a, "checking", minutes_ago=1)
    elsewhere = _run(staff_b, "queued", minutes_ago=60)
    assert portfolio_writer.fail_stale_runs() == "2 stale import run(s) failed"
    assert _state(staff_a, dead) == ("failed", True, [(0, "", "stale")])
    assert _state(staff_b, elsewhere)[0:2] == ("failed", True)
    assert _state(staff_a, alive) == ("checking", False, [])
    with all_institutions("test"):
        told = [(n.user_id, n.params.get("variant")) for n in db.session.scalars(
            db.select(Notification).where(Notification.kind == "import_finished"))]
    assert (staff_a.admin.id, "failed") in told and (staff_b.admin.id, "failed") in told
    assert portfolio_writer.fail_stale_runs() == "0 stale import run(s) failed"  # once


def test_the_page_of_a_dead_run_says_so_and_stops_polling(client, staff_a, as_user):
    dead = _run(staff_a, "checking", minutes_ago=30)
    page = as_user(staff_a.admin).get(f"/loans/import/{dead}").get_data(as_text=True)
    assert 'id="import-stopped"' in page and "its process ended" in page and 'hx-trigger' not in page
    assert _state(staff_a, dead)[0:2] == ("failed", True)
    live = _run(staff_a, "checking", minutes_ago=0)
    assert 'hx-trigger="every 1s"' in client.get(f"/loans/import/{live}").get_data(as_text=True)
