"""Signed-in pages and the referral API under gunicorn, side by side with a bare Flask app.

    .venv/bin/pip install -e '.[production]'      # gunicorn; `apt-get install apache2-utils` for ab
    .venv/bin/python bench/gunicorn_ratio.py                  # SQLite file in bench/out/
    MICROFIN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/microfin_gunicorn \\
        .venv/bin/python bench/gunicorn_ratio.py              # PostgreSQL (the database is recreated)

Builds an institution of ``--clients`` clients (default 100,000) with an imported portfolio of
``--loans`` loans, starts the app and ``bench/bare_flask.py`` each under gunicorn with 2 sync
workers, signs in as an officer over HTTP (real CSRF, real argon2) and measures requests per
second of each pair in one run, alternating bare / app / bare so that the machine's noise falls on
both sides:
- issue 15: ``/clients/``, ``/clients/<id>`` and ``/loans/<id>`` against the bare 50-row table
  (target: at least 25 %);
- issue 13: ``POST /api/v1/referrals`` against a JSON echo (target: at least 10 %) and
  ``GET /api/v1/referrals/<id>`` against a small JSON answer (target: at least 30 %), with
  ``--referrals`` referrals seeded in the registry first (``--only api``: the registry alone,
  no clients and no signed-in pages; ``--rounds 3``: the median of three side-by-side ratios,
  for a noisy machine).
GETs are driven by ``ab`` (ApacheBench, C) when installed, else by the Python client below; POSTs
always by the Python client, each request with its own external reference and Idempotency-Key.
The API rate limit is raised by its documented setting (``MICROFIN_API_RATE_LIMIT``).
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "quiet lantern orchard 47"
DATA_KEY = "bench-data-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build(clients: int, loans: int, reuse: bool = False) -> tuple[str, dict]:
    """The bench database; returns its URL and the ids and secrets the requests need. With
    ``reuse``, the database of the last run (and its ids, kept in ``bench/out/gunicorn.json``)
    when there is one for this database URL."""
    from sqlalchemy import func, select

    from bench.common import database_url

    saved = ROOT / "bench" / "out" / "gunicorn.json"
    wanted = database_url("gunicorn", reuse=True)
    runs = json.loads(saved.read_text()) if saved.exists() else {}
    known = runs.get(wanted, {})
    if reuse and known.get("clients") == clients and known.get("loans") == loans:
        print(f"reusing {wanted}")
        return wanted, known["ids"]

    from bench.clients_list import generate
    from bench.common import import_microstart_portfolio
    from core.extensions import db
    from core.models import Client, Loan, User
    from core.services import accounts, referrers
    from core.tenancy import acting_for, all_institutions

    app, institution_id, _, seconds, url = import_microstart_portfolio("gunicorn", loans)
    print(f"imported {loans:,} loans in {seconds:.1f} s")
    with app.app_context():
        with all_institutions("bench setup"):
            accounts.create_user(email="officer@bench.test", name="Bench Officer", role="officer",
                                 institution_id=institution_id, password=PASSWORD)
            coach_ids = list(db.session.scalars(select(User.id).where(User.role == "coach")))
            if not coach_ids:
                coach_ids = [accounts.create_user(email=f"coach{n}@bench.test", name=f"Coach {n}",
                                                  role="coach", institution_id=institution_id,
                                                  password=PASSWORD).id for n in range(3)]
            token = referrers.add_referrer(name="Bench Bank", kind="bank").secret
        with acting_for(institution_id):
            existing = db.session.scalar(select(func.count()).select_from(Client))
            if existing < clients:
                generate(clients - existing, institution_id, coach_ids)
            client_id = db.session.scalar(select(Loan.client_id).order_by(Loan.id))
            loan_id = db.session.scalar(select(Loan.id).order_by(Loan.id))
            total = db.session.scalar(select(func.count()).select_from(Client))
        dialect = db.engine.dialect.name
        db.engine.dispose()
    print(f"{dialect}: {total:,} clients, {loans:,} loans")
    ids = {"client_id": client_id, "loan_id": loan_id, "token": token}
    runs[url] = {"clients": clients, "loans": loans, "ids": ids}
    saved.write_text(json.dumps(runs))
    return url, ids


def build_api(referrals: int) -> tuple[str, dict]:
    """A bench database with the registry only (``--only api``): ``referrals`` referrals, the
    bench bank's token."""
    from bench.common import database_url
    from core import create_app
    from core.cli import upgrade_database
    from core.extensions import db
    from core.services import referrers

    url = database_url("gunicorn_api")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MICROFIN_DATA_KEY": DATA_KEY})
    with app.app_context():
        upgrade_database()
        token = referrers.add_referrer(name="Bench Bank", kind="bank").secret
        started = time.perf_counter()
        total = seed_referrals(referrals)
        print(f"{db.engine.dialect.name}: {total:,} referrals in the registry "
              f"(seeded in {time.perf_counter() - started:.1f} s)")
        db.engine.dispose()
    return url, {"token": token}


def start(target: str, port: int, env: dict) -> subprocess.Popen:
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    command = [str(gunicorn if gunicorn.exists() else "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
               "--log-level", "warning", target]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn for {target} did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def sign_in(base: str) -> str:
    """Sign in as the bench officer through the login form; returns the Cookie header."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"email": "officer@bench.test", "password": PASSWORD, "csrf_token": token})
    answer = opener.open(f"{base}/login", data=form.encode())
    assert "/login" not in answer.url, "sign-in failed"
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def seed_referrals(count: int, referrer_ids: list[int] | None = None) -> int:
    """``count`` referrals of the last two years in the registry, as routing leaves them: one in
    ten still offered (an open offer), one in ten accepted, most closed (financed, not financed,
    no match), each with its offers and, for those that came by the API, its idempotency record.
    Spread over ``referrer_ids`` (default: five new referrer organisations and every existing
    one). Written with bulk INSERTs (no audit trail, no notifications: the registry's size is
    what the bench is about). Returns the number of referrals in the registry."""
    import random
    from datetime import date, datetime, timedelta, timezone
    from decimal import Decimal

    from sqlalchemy import func, insert, select

    from core.extensions import db
    from core.models import Institution
    from core.models.referrals import IdempotencyRecord, Referral, ReferralOffer, Referrer
    from core.services import referrers
    from core.services.referrals import match_key
    from core.tenancy import all_institutions

    with all_institutions("bench: a registry of many referrals"):
        if referrer_ids is None:
            for n in range(5):
                referrers.add_referrer(name=f"Seed Bank {n} {os.getpid()}", kind="bank")
            referrer_ids = list(db.session.scalars(select(Referrer.id)))
        institution_ids = list(db.session.scalars(select(Institution.id).where(Institution.enabled)))
        rng = random.Random(13)
        now = datetime.now(timezone.utc)
        first_names = ["Sofie", "Lucas", "Emma", "Noah", "Fatima", "Mohamed", "Julie", "Thomas", "Ines", "Adam"]
        last_names = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
                      "Dubois", "Lambert", "El Amrani", "Diallo"]
        postal_codes = ["1000", "1080", "2000", "9000", "4000", "6000", "3500", "8000", "5000", "1200"]
        batch = 5_000
        done = 0
        while done < count:
            size = min(batch, count - done)
            referral_rows, plans = [], []
            for i in range(done, done + size):
                received = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
                roll = rng.random()
                status = ("offered" if roll < 0.1 else "accepted" if roll < 0.2 else "financed" if roll < 0.45
                          else "not_financed" if roll < 0.7 else "no_match")
                first, last = rng.choice(first_names), f"{rng.choice(last_names)}{i}"
                institution = rng.choice(institution_ids) if status != "no_match" else None
                referral_rows.append(dict(
                    referrer_id=rng.choice(referrer_ids), external_reference=f"SEED-{os.getpid()}-{i}",
                    channel="api", status=status, institution_id=institution,
                    applicant_first_name=first, applicant_last_name=last,
                    applicant_birth_date=date(1960, 1, 1) + timedelta(days=rng.randrange(15_000)),
                    applicant_match_key=match_key(last, first), applicant_email=f"seed{i}@example.be",
                    applicant_phone="+32470123456", postal_code=rng.choice(postal_codes), region="brussels",
                    language=rng.choice(["nl", "fr"]), amount_requested=Decimal(rng.randrange(2, 40) * 1000),
                    sector="horeca", stage="starter", purpose="Equipment", purpose_category="investment",
                    refusal_decided_on=received.date(), refusal_reasons=["insufficient_collateral"],
                    consent_given_at=received, consent_method="written", consent_scope=["share_with_mfi"],
                    received_at=received, offered_at=received if institution else None,
                    closed_at=received + timedelta(days=30) if status in ("financed", "not_financed", "no_match")
                    else None, updated_at=received + timedelta(days=rng.randrange(40)),
                    outcome_reason="no_institution_accepts" if status == "no_match" else None))
                plans.append((status, institution, received))
            db.session.execute(insert(Referral), referral_rows)
            ids = list(db.session.scalars(select(Referral.id).where(Referral.external_reference.in_(
                [row["external_reference"] for row in referral_rows])).order_by(Referral.id)))
            offers, records = [], []
            for referral_id, row, (status, institution, received) in zip(ids, referral_rows, plans):
                if institution is not None:
                    state = {"offered": "open", "accepted": "accepted"}.get(status, "closed")
                    offers.append(dict(referral_id=referral_id, institution_id=institution, state=state,
                                       offered_at=received, deadline=(received + timedelta(days=7)).date()))
                records.append(dict(referrer_id=row["referrer_id"], key=f"seed-{row['external_reference']}",
                                    request_hash="0" * 64, status_code=201, body={"id": referral_id},
                                    created_at=received))
            if offers:
                db.session.execute(insert(ReferralOffer), offers)
            db.session.execute(insert(IdempotencyRecord), records)
            db.session.commit()
            done += size
        return db.session.scalar(select(func.count()).select_from(Referral))


# -- the Python load generator (one process per concurrent client) ---------------------------------

def _referral_body(worker: int, n: int) -> bytes:
    return json.dumps({
        "external_reference": f"BENCH-{os.getpid()}-{worker}-{n}",
        "consent": {"given_at": "2026-11-24T09:00:00+01:00", "method": "written",
                    "scope": ["share_with_mfi", "contact"]},
        "applicant": {"first_name": "Sofie", "last_name": f"Peeters{os.getpid()}-{worker}-{n}", "birth_date": "1990-04-12",
                      "email": f"sofie{n}@example.be", "phone": "+32 470 12 34 56",
                      "postal_code": "1000", "language": "nl"},
        "project": {"amount_requested": "12000.00", "sector": "horeca", "stage": "starter",
                    "purpose": "Kitchen equipment", "enterprise_number": None},
        "refusal": {"decided_on": "2026-11-23", "reasons": ["insufficient_collateral"]},
    }).encode()


def _drive(job: tuple) -> int:
    port, method, path, headers, seconds, worker, referral = job
    done, n, deadline = 0, 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        n += 1
        body = _referral_body(worker, n) if referral else None
        sent = dict(headers)
        if referral:
            sent["Idempotency-Key"] = f"bench-{os.getpid()}-{worker}-{n}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status >= 400:
            raise SystemExit(f"{method} {path}: HTTP {response.status}")
        done += 1
    return done


def python_rps(port: int, method: str, path: str, headers: dict, seconds: float, concurrency: int,
               referral: bool = False) -> float:
    jobs = [(port, method, path, headers, seconds, worker, referral) for worker in range(concurrency)]
    with multiprocessing.Pool(concurrency) as pool:
        return sum(pool.map(_drive, jobs)) / seconds


def ab_rps(port: int, path: str, headers: dict, requests: int, concurrency: int) -> float:
    command = ["ab", "-q", "-n", str(requests), "-c", str(concurrency)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                            check=True).stdout
    if re.search(r"Non-2xx responses:\s+[1-9]", output) or re.search(r"Failed requests:\s+[1-9]", output):
        raise SystemExit(f"ab {path}: failed requests\n{output}")
    return float(re.search(r"Requests per second:\s+([\d.]+)", output).group(1))


def get_rps(port: int, path: str, headers: dict, args) -> float:
    if shutil.which("ab"):
        return ab_rps(port, path, headers, args.requests, args.concurrency)
    return python_rps(port, "GET", path, headers, args.seconds, args.concurrency)


ROUNDS = 1


def compare(label: str, bare, app, target: float) -> None:
    """bare, app, bare, app, bare, ... (``--rounds`` app measurements): each app figure against
    the mean of the bare ones around it; the median of those ratios is the result."""
    import statistics

    bares, ours, ratios = [bare()], [], []
    for _ in range(ROUNDS):
        ours.append(app())
        bares.append(bare())
        ratios.append(ours[-1] / ((bares[-2] + bares[-1]) / 2) * 100)
    ratio = statistics.median(ratios)
    verdict = "met" if ratio >= target else "NOT met"
    spread = f"  [{', '.join(f'{r:.1f}' for r in ratios)}]" if ROUNDS > 1 else ""
    print(f"{label:<44} {statistics.median(ours):>8.0f} {statistics.median(bares):>8.0f} {ratio:>6.1f} %  "
          f"(target {target:.0f} %: {verdict}){spread}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=2_000, help="per GET measurement with ab")
    parser.add_argument("--seconds", type=float, default=8.0, help="per Python-driven measurement")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--only", choices=("all", "pages", "api"), default="all",
                        help="pages: the signed-in pages only; api: the registry and the API only (no clients)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of the last run with the same --clients and --loans")
    parser.add_argument("--referrals", type=int, default=1_000,
                        help="referrals seeded in the registry before the API is measured")
    parser.add_argument("--rounds", type=int, default=1,
                        help="app measurements per comparison, each between two bare ones (median ratio)")
    args = parser.parse_args()
    global ROUNDS
    ROUNDS = max(1, args.rounds)
    instance = str(ROOT / "bench" / "out" / "instance") if args.reuse else tempfile.mkdtemp(prefix="microfin-bench-")
    os.makedirs(instance, exist_ok=True)
    os.environ["MICROFIN_INSTANCE_PATH"] = instance
    if args.only == "api":
        url, ids = build_api(args.referrals)
    else:
        url, ids = build(args.clients, args.loans, args.reuse)
        if args.referrals and args.only == "all" and not args.reuse:
            from core import create_app
            from core.extensions import db

            with create_app({"SQLALCHEMY_DATABASE_URI": url, "MICROFIN_DATA_KEY": DATA_KEY}).app_context():
                print(f"{seed_referrals(args.referrals):,} referrals in the registry")
                db.engine.dispose()

    env = {"MICROFIN_DATABASE_URL": url, "MICROFIN_DATA_KEY": DATA_KEY, "MICROFIN_INSTANCE_PATH": instance,
           "MICROFIN_API_RATE_LIMIT": "1000000/minute", "PYTHONPATH": str(ROOT)}
    app_port, bare_port = free_port(), free_port()
    app_server = start("core:create_app()", app_port, env)
    bare_server = start("bench.bare_flask:app", bare_port, {"PYTHONPATH": str(ROOT)})
    try:
        api = {"Authorization": f"Bearer {ids['token']}", "Content-Type": "application/json"}
        c = args.concurrency
        print(f"gunicorn, 2 sync workers each; {c} concurrent clients; "
              f"GETs by {'ab' if shutil.which('ab') else 'the Python client'}")
        print(f"{'requests per second':<44} {'app':>8} {'bare':>8} {'ratio':>8}")
        if args.only != "api":
            cookie = {"Cookie": sign_in(f"http://127.0.0.1:{app_port}")}
            for label, path in (("GET /clients/ (50 rows)", "/clients/"),
                                ("GET /clients/<id>", f"/clients/{ids['client_id']}"),
                                ("GET /loans/<id>", f"/loans/{ids['loan_id']}")):
                compare(label, lambda: get_rps(bare_port, "/table", {}, args),
                        lambda path=path: get_rps(app_port, path, cookie, args), 25)
        if args.only == "pages":
            return
        compare("POST /api/v1/referrals",
                lambda: python_rps(bare_port, "POST", "/echo", {"Content-Type": "application/json"},
                                   args.seconds, c, referral=True),
                lambda: python_rps(app_port, "POST", "/api/v1/referrals", api, args.seconds, c,
                                   referral=True), 10)
        referral_id = _first_referral_id(app_port, api)
        compare("GET /api/v1/referrals/<id>", lambda: get_rps(bare_port, "/echo/1", {}, args),
                lambda: get_rps(app_port, f"/api/v1/referrals/{referral_id}", api, args), 30)
    finally:
        stop(app_server)
        stop(bare_server)


def _first_referral_id(port: int, headers: dict) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/api/v1/referrals?limit=1", headers=headers)
    answer = json.loads(connection.getresponse().read())
    items = answer.get("items") or answer.get("referrals") or answer.get("data")
    return items[0]["id"]


if __name__ == "__main__":
    main()
