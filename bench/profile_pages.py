"""Where a signed-in page's time goes: cProfile over requests through Flask's test client.

    .venv/bin/python bench/gunicorn_ratio.py --reuse        # builds bench/out/gunicorn.* once
    .venv/bin/python bench/profile_pages.py [--requests 200] [--sort tottime] [PATH ...]

Uses the database of the last ``gunicorn_ratio.py --reuse`` run (SQLite or, with
``MICROFIN_BENCH_DATABASE_URL``, PostgreSQL), signs in as its officer through the login form and
profiles the given paths (default: the three pages of issue 15). Not a test.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=60)
    parser.add_argument("--sql", action="store_true", help="count the SQL statements of one request")
    parser.add_argument("--sql-width", type=int, default=160)
    parser.add_argument("--sample", action="store_true",
                        help="a sampling profile (a thread reads the stack every millisecond: little "
                             "overhead, unlike cProfile) of inclusive time per function")
    args = parser.parse_args()
    from bench.gunicorn_ratio import DATA_KEY, PASSWORD

    from bench.common import database_url

    url = database_url("gunicorn", reuse=True)
    saved = json.loads((ROOT / "bench" / "out" / "gunicorn.json").read_text())[url]
    saved["url"] = url
    os.environ.setdefault("MICROFIN_INSTANCE_PATH", str(ROOT / "bench" / "out" / "instance"))
    from core import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": saved["url"], "MICROFIN_DATA_KEY": DATA_KEY})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"email": "officer@bench.test", "password": PASSWORD,
                                         "csrf_token": token})
    assert answer.status_code == 302 and "/login" not in answer.location, answer.status_code
    ids = saved["ids"]
    paths = args.paths or ["/clients/", f"/clients/{ids['client_id']}", f"/loans/{ids['loan_id']}"]
    for path in paths:
        for _ in range(5):
            assert client.get(path).status_code == 200, path
        if args.sql:
            from sqlalchemy import event

            from core.extensions import db

            statements = []
            with app.app_context():
                engine = db.engine

            def before(conn, cursor, statement, *rest):
                conn.info["bench_started"] = time.perf_counter()

            def after(conn, cursor, statement, *rest):
                statements.append((statement, (time.perf_counter() - conn.info["bench_started"]) * 1000))
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
            client.get(path)
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
            print(f"{path}: {len(statements)} statements")
            for statement, ms in statements:
                print(f"   {ms:6.2f} ms", " ".join(statement.split())[:args.sql_width])
        started = time.perf_counter()
        for _ in range(args.requests):
            client.get(path)
        plain = (time.perf_counter() - started) / args.requests * 1000
        if args.sample:
            print(f"\n=== {path}: {plain:.2f} ms a request without the profiler")
            sample(lambda: client.get(path), args.requests, args.lines)
            continue
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            client.get(path)
        profile.disable()
        print(f"\n=== {path}: {plain:.2f} ms a request without the profiler")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.lines)


def sample(call, requests: int, lines: int) -> None:
    """Run ``call`` ``requests`` times while another thread samples the main thread's stack."""
    import collections
    import threading

    sys.setswitchinterval(0.0001)  # else the sampler waits up to 5 ms for the GIL
    main_id = threading.get_ident()
    inclusive, leaf, total = collections.Counter(), collections.Counter(), [0]
    running = [True]

    def sampler():
        while running[0]:
            time.sleep(0.0005)
            frame = sys._current_frames().get(main_id)
            seen = set()
            first = True
            while frame is not None:
                code = frame.f_code
                key = f"{code.co_filename.replace(str(ROOT), '').replace('/.venv/lib/python3.11/site-packages', '')}:{code.co_firstlineno}({code.co_name})"
                if first:
                    leaf[key] += 1
                    first = False
                if key not in seen:
                    inclusive[key] += 1
                    seen.add(key)
                frame = frame.f_back
            total[0] += 1

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    for _ in range(requests):
        call()
    running[0] = False
    thread.join()
    print(f"{total[0]} samples; inclusive % (self %)")
    for key, count in inclusive.most_common(lines):
        print(f"{count / total[0] * 100:6.1f} {leaf[key] / total[0] * 100:6.1f}  {key}")


if __name__ == "__main__":
    main()
