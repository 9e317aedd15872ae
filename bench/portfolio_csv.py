"""Write a realistic portfolio CSV, and time reading and checking it.

    python bench/portfolio_csv.py /tmp/portfolio.csv --rows 10000          # write the file
    python bench/portfolio_csv.py /tmp/portfolio.csv --rows 10000 --time   # write, then time the parse

About one client in five has two or three loans (rows sharing a client_ref). Deterministic
(seeded), so figures can be compared between runs. Results go in bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stdnum.be import vat  # noqa: E402

from core.services.portfolio_import import COLUMNS, read_portfolio  # noqa: E402

PRODUCTS = {"jump": ("12.13", 48), "boost": ("11.13", 48)}
FIRST = ["Amina", "Jan", "Fatima", "Luc", "Sofia", "Mohamed", "Els", "Karim", "Marie", "Pieter", "Aïcha", "Zoë"]
LAST = ["El Amrani", "Peeters", "Dubois", "Janssens", "Nowak", "Diallo", "Maes", "Lambert", "Yılmaz", "Claes"]
COUNTRIES = ["BE", "BE", "BE", "MA", "TR", "CD", "FR", "NL", "PL", "RO", "SY", "CM"]
POSTAL = ["1000", "1070", "1080", "1210", "4000", "6000", "9000", "2000", "3500", "5000", "7000", "8000"]


def rows(count: int, seed: int = 2026):
    """``count`` loan rows as dicts of strings."""
    rng = random.Random(seed)
    produced, client = 0, 0
    while produced < count:
        client += 1
        person = _person(rng, client)
        for _ in range(min(rng.choice([1, 1, 1, 1, 2, 3]), count - produced)):
            produced += 1
            yield {**person, **_loan(rng, produced)}


def _person(rng: random.Random, number: int) -> dict:
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(40 * 365))
    return {
        "client_ref": f"C{number:06d}", "first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
        "birth_date": born.isoformat(), "gender": rng.choice("FMFMX"),
        "country_of_birth": rng.choice(COUNTRIES),
        "education": rng.choice(["none", "primary", "lower_secondary", "upper_secondary", "higher"]),
        "employment_status": rng.choice(["job_seeker", "employed", "self_employed", "inactive", "student"]),
        "disability": rng.choice(["no"] * 9 + ["yes"]), "postal_code": rng.choice(POSTAL),
        "language": rng.choice(["fr", "nl", "fr", "en", "de"]),
    }


def _loan(rng: random.Random, number: int) -> dict:
    product = rng.choice(list(PRODUCTS))
    rate, max_term = PRODUCTS[product]
    principal = rng.randrange(500, 25001, 50)
    base = f"{rng.randrange(2 * 10**8, 10**9):09d}"
    enterprise = "0" + base[:-2] + f"{97 - int('0' + base[:-2]) % 97:02d}" if rng.random() < 0.6 else ""
    assert not enterprise or vat.is_valid(enterprise)
    return {
        "enterprise_number": enterprise,
        "sector": rng.choice(["horeca", "retail", "services", "care", "transport", "construction", "other"]),
        "loan_ref": f"L{number:07d}", "product": product, "principal": f"{principal}.00",
        "honour_loan": f"{principal // 3}.00" if rng.random() < 0.2 else "0",
        "annual_rate": rate, "term_months": str(rng.randrange(6, max_term + 1, 6)),
        "disbursed_on": (date(2018, 1, 1) + timedelta(days=rng.randrange(8 * 365))).isoformat(),
        "status": rng.choice(["active"] * 6 + ["repaid"] * 3 + ["written_off"]),
    }


def write(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--time", action="store_true", help="time read_portfolio on the file")
    args = parser.parse_args()
    write(args.path, args.rows)
    print(f"wrote {args.rows} rows to {args.path}")
    if args.time:
        started = time.perf_counter()
        with args.path.open(encoding="utf-8", newline="") as handle:
            result = read_portfolio(handle, PRODUCTS, today=date(2026, 11, 25))
        elapsed = time.perf_counter() - started
        print(f"parsed and checked {result.rows} rows, {len(result.clients)} clients, "
              f"{len(result.errors)} errors in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
