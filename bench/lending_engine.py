"""Time the lending engine on a synthetic portfolio: schedules, APR, arrears and PAR.

    python bench/lending_engine.py [--loans 10000]

Each loan: 48-month annuity at 12.13 %, disbursed 1 January 2022; on 1 February 2024 (25
instalments due) it has paid 21 to 25 of them. Results go in bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.services.allocation import Payment  # noqa: E402
from core.services.arrears import loan_arrears, portfolio_quality  # noqa: E402
from core.services.pricing import annual_percentage_rate, cash_flows  # noqa: E402
from core.services.schedules import build_schedule, loan_terms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=10_000)
    count = parser.parse_args().loans
    started = time.perf_counter()
    schedules = [build_schedule(loan_terms(Decimal(500 + n % 24_500), "0.1213", 48, date(2022, 1, 1)))
                 for n in range(count)]
    built = time.perf_counter()
    for schedule in schedules[:100]:
        annual_percentage_rate(cash_flows(schedule))
    priced = time.perf_counter()
    on = date(2024, 2, 1)
    arrears = [loan_arrears(n, s, [Payment(k, i.due_on, i.total) for k, i in enumerate(s.instalments[:25 - n % 5])], on)
               for n, s in enumerate(schedules)]
    quality = portfolio_quality(arrears, on)
    done = time.perf_counter()
    print(f"{count} schedules of 48 months: {built - started:.2f} s")
    print(f"APR of 100 of them: {priced - built:.2f} s ({(priced - built) * 10:.1f} ms each)")
    print(f"arrears of {count} loans (21-25 payments each) and PAR: {done - priced:.2f} s; "
          f"PAR30 {quality.par30}, PAR90 {quality.par90}")


if __name__ == "__main__":
    main()
