"""Client list latency at 100,000 clients of one institution.

    .venv/bin/python bench/clients_list.py                 # SQLite file in bench/out/
    MICROFIN_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/microfin_bench \\
        .venv/bin/python bench/clients_list.py             # PostgreSQL (the database is recreated)

Generates the clients with bulk inserts (``--clients``, default 100,000; ``--reuse`` keeps an
existing database), signs in as an officer through Flask's test client (real CSRF, real argon2)
and prints p50/p95 of: the list page, a filtered page, a live search (htmx fragment), the
next keyset page (htmx fragment) and the header search (``/search/``) by name, national number,
IBAN and enterprise number (issue 15: within 100 ms p95). Not a test: figures depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ["Amina", "Jan", "Marie", "Mohamed", "Sofie", "Lucas", "Fatima", "Pieter", "Chloé", "Youssef",
         "Emma", "Thomas", "Nora", "Kevin", "Léa", "Ahmed", "Lotte", "Hugo", "Ines", "Bram"]
LAST = ["Peeters", "Janssens", "Maes", "Dubois", "Lambert", "El Idrissi", "Claes", "Martin", "Wouters",
        "Dupont", "Goossens", "Benali", "Willems", "Mertens", "Leclercq", "Yilmaz", "Jacobs", "Simon",
        "Vermeulen", "Diallo", "Hermans", "Lejeune", "Michiels", "Bakkali", "Renard"]
POSTAL = ["1000", "1030", "1070", "1080", "2000", "2600", "3000", "3500", "4000", "5000", "6000",
          "7000", "8000", "8500", "9000", "9300", "1300", "1640", "4700", "6700"]
SECTORS = ("horeca", "retail", "services", "care", "transport", "construction", "other")
STAGES = ("project", "starter", "established")
PASSWORD = "quiet lantern orchard 47"


def database_url(reuse: bool) -> str:
    from bench.common import database_url as fresh

    return fresh("clients", reuse=reuse)


def generate(count: int, institution_id: int, coach_ids: list[int]) -> float:
    """Insert ``count`` clients in batches; returns the seconds it took."""
    from sqlalchemy import insert
    from stdnum import iban as std_iban

    from core.extensions import db
    from core.geo import province_for_postal_code, region_for_postal_code
    from core.models import Client
    from core.models.types import utcnow
    from core.services import identifiers
    from core.services.clients import search_key

    rng = random.Random(2026)
    started = time.perf_counter()
    now = utcnow()
    batch = []
    for index in range(count):
        first, last = rng.choice(FIRST), f"{rng.choice(LAST)}{'' if index % 3 else rng.randint(1, 999)}"
        birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))
        postal = rng.choice(POSTAL)
        enterprise = f"{rng.choice(['Atelier', 'Bistro', 'Studio', 'Zorg', 'Transport', 'Bouw'])} {last} {index}"
        number = f"{birth:%y%m%d}{index % 997 + 1:03d}"
        number += f"{97 - int(number) % 97:02d}"
        account = f"096{index:07d}"
        account += f"{int(account) % 97 or 97:02d}"
        batch.append(dict(
            institution_id=institution_id, version=1, status="active" if index % 10 else "closed",
            coach_id=rng.choice(coach_ids), first_name=first, last_name=last, birth_date=birth,
            gender=rng.choice(("female", "male")), postal_code=postal,
            region=str(region_for_postal_code(postal)), province=province_for_postal_code(postal),
            preferred_language=rng.choice(("nl", "fr", "en")), disability=False,
            national_number_hash=identifiers.national_number_hash(number),
            national_number_last=number[-2:],
            enterprise_name=enterprise, enterprise_number=f"0{index:09d}"[:10],
            iban="BE" + std_iban.calc_check_digits("BE00" + account) + account,
            sector=rng.choice(SECTORS), stage=rng.choice(STAGES),
            sort_key=search_key(f"{last} {first}"), first_name_key=search_key(first),
            enterprise_key=search_key(enterprise), intake_gender="female", intake_age_group="30_to_49",
            intake_disability=False, created_at=now - timedelta(minutes=index)))
        if len(batch) == 10_000:
            db.session.execute(insert(Client), batch)
            batch = []
    if batch:
        db.session.execute(insert(Client), batch)
    db.session.commit()
    from sqlalchemy import text

    db.session.execute(text("ANALYZE clients"))  # planner statistics, as autovacuum / PRAGMA optimize keep
    db.session.commit()
    return time.perf_counter() - started


def _national_number_of(client) -> str:
    """The national number :func:`generate` gave ``client`` (only its hash is stored)."""
    from core.services import identifiers

    for serial in range(1, 998):
        number = f"{client.birth_date:%y%m%d}{serial:03d}"
        number += f"{97 - int(number) % 97:02d}"
        if identifiers.national_number_hash(number) == client.national_number_hash:
            return number
    raise LookupError("no generated national number matches")


def measure(client, url: str, runs: int, htmx: bool = False) -> tuple[float, float]:
    headers = {"HX-Request": "true"} if htmx else {}
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    cuts = statistics.quantiles(timings, n=20)
    return statistics.median(timings), cuts[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database")
    args = parser.parse_args()
    os.environ.setdefault("MICROFIN_INSTANCE_PATH", tempfile.mkdtemp(prefix="microfin-bench-"))

    from sqlalchemy import func, select

    from core import create_app
    from core.cli import upgrade_database
    from core.extensions import db
    from core.models import Client, User
    from core.services import accounts
    from core.services.institutions import by_slug
    from core.tenancy import acting_for, all_institutions

    url = database_url(args.reuse)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MICROFIN_DATA_KEY": "bench-data-key",
                      "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1})
    with app.app_context():
        upgrade_database()
        institution = by_slug("microstart")
        institution_id = institution.id
        with all_institutions("bench setup"):
            officer = db.session.scalar(select(User).where(User.email == "officer@bench.test"))
            if officer is None:
                officer = accounts.create_user(email="officer@bench.test", name="Bench Officer",
                                               role="officer", institution_id=institution.id,
                                               password=PASSWORD)
                for n in range(5):
                    accounts.create_user(email=f"coach{n}@bench.test", name=f"Coach {n}", role="coach",
                                         institution_id=institution.id, password=PASSWORD)
            coach_ids = list(db.session.scalars(select(User.id).where(User.role == "coach")))
        with acting_for(institution.id):
            existing = db.session.scalar(select(func.count()).select_from(Client))
            if existing < args.clients:
                seconds = generate(args.clients - existing, institution.id, coach_ids)
                print(f"generated {args.clients - existing:,} clients in {seconds:.1f} s")
            total = db.session.scalar(select(func.count()).select_from(Client))
        dialect = db.engine.dialect.name

    client = app.test_client()
    with app.app_context():
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"email": "officer@bench.test", "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302, "sign-in failed"
        first = client.get("/clients/").get_data(as_text=True)
        cursor = re.search(r'after=([^&"]+)', first).group(1)
        newest = client.get("/clients/?sort=-created_at").get_data(as_text=True)
        newest_cursor = re.search(r'after=([^&"]+)', newest).group(1)
        with acting_for(institution_id):
            probe = db.session.scalars(select(Client).where(Client.iban.is_not(None))
                                       .order_by(Client.id.desc()).limit(1)).one()
            nn = _national_number_of(probe)
    cases = [
        ("list page (50 rows, full page)", "/clients/", False),
        ("filtered page (sector=care, region=flanders, status=active)",
         "/clients/?sector=care&region=flanders&status=active", False),
        ("live search q=pee (htmx fragment)", "/clients/?q=pee", True),
        ("live search q=atelier (enterprise, htmx)", "/clients/?q=atelier", True),
        ("next keyset page (htmx fragment)", f"/clients/?after={cursor}", True),
        ("sorted sort=-created_at (newest first)", "/clients/?sort=-created_at", False),
        ("sorted sort=-created_at, next keyset page (htmx)",
         f"/clients/?sort=-created_at&after={newest_cursor}", True),
        ("sorted sort=stage", "/clients/?sort=stage", False),
        ("sorted sort=-sector", "/clients/?sort=-sector", False),
        ("sorted sort=status", "/clients/?sort=status", False),
        ("sorted sort=-name", "/clients/?sort=-name", False),
        ("sorted sort=-created_at, filtered status=active", "/clients/?sort=-created_at&status=active", False),
        ("sorted sort=-created_at, search q=pee (htmx)", "/clients/?sort=-created_at&q=pee", True),
        ("header search q=pee (name)", "/search/?q=pee", False),
        ("header search q=atelier (enterprise name)", "/search/?q=atelier", False),
        ("header search by national number", f"/search/?q={nn}", False),
        ("header search by IBAN (printed with spaces)", "/search/?q=" + quote(" ".join(
            probe.iban[i:i + 4] for i in range(0, len(probe.iban), 4))), False),
        ("header search by enterprise number", f"/search/?q={probe.enterprise_number}", False),
    ]
    print(f"{dialect}: {total:,} clients in the institution, {args.runs} requests each")
    print(f"{'request':<62} {'p50 ms':>8} {'p95 ms':>8}")
    for label, url_path, htmx in cases:
        with app.app_context():
            p50, p95 = measure(client, url_path, args.runs, htmx)
        print(f"{label:<62} {p50:>8.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
