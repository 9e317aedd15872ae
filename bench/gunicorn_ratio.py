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
  ``GET /api/v1/referrals/<id>`` against a small JSON answer (target: at least 30 %).
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


# -- the Python load generator (one process per concurrent client) ---------------------------------

def _referral_body(worker: int, n: int) -> bytes:
    return json.dumps({
        "external_reference": f"BENCH-{os.getpid()}-{worker}-{n}",
        "consent": {"given_at": "2026-11-24T09:00:00+01:00", "method": "written",
                    "scope": ["share_with_mfi", "contact"]},
        "applicant": {"first_name": "Sofie", "last_name": f"Peeters{n}", "birth_date": "1990-04-12",
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


def compare(label: str, bare, app, target: float) -> None:
    first, ours, second = bare(), app(), bare()
    yardstick = (first + second) / 2
    ratio = ours / yardstick * 100
    verdict = "met" if ratio >= target else "NOT met"
    print(f"{label:<44} {ours:>8.0f} {yardstick:>8.0f} {ratio:>6.1f} %  (target {target:.0f} %: {verdict})",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=2_000, help="per GET measurement with ab")
    parser.add_argument("--seconds", type=float, default=8.0, help="per Python-driven measurement")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--only", choices=("pages", "api"), help="measure only the pages or only the API")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of the last run with the same --clients and --loans")
    args = parser.parse_args()
    instance = str(ROOT / "bench" / "out" / "instance") if args.reuse else tempfile.mkdtemp(prefix="microfin-bench-")
    os.makedirs(instance, exist_ok=True)
    os.environ["MICROFIN_INSTANCE_PATH"] = instance
    url, ids = build(args.clients, args.loans, args.reuse)

    env = {"MICROFIN_DATABASE_URL": url, "MICROFIN_DATA_KEY": DATA_KEY, "MICROFIN_INSTANCE_PATH": instance,
           "MICROFIN_API_RATE_LIMIT": "1000000/minute", "PYTHONPATH": str(ROOT)}
    app_port, bare_port = free_port(), free_port()
    app_server = start("core:create_app()", app_port, env)
    bare_server = start("bench.bare_flask:app", bare_port, {"PYTHONPATH": str(ROOT)})
    try:
        cookie = {"Cookie": sign_in(f"http://127.0.0.1:{app_port}")}
        api = {"Authorization": f"Bearer {ids['token']}", "Content-Type": "application/json"}
        c = args.concurrency
        print(f"gunicorn, 2 sync workers each; {c} concurrent clients; "
              f"GETs by {'ab' if shutil.which('ab') else 'the Python client'}")
        print(f"{'requests per second':<44} {'app':>8} {'bare':>8} {'ratio':>8}")
        for label, path in (("GET /clients/ (50 rows)", "/clients/"),
                            ("GET /clients/<id>", f"/clients/{ids['client_id']}"),
                            ("GET /loans/<id>", f"/loans/{ids['loan_id']}")):
            if args.only == "api":
                break
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
