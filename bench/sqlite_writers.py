"""SQLite write transactions of one process's threads: how long a `BEGIN IMMEDIATE` waits, with
Django's backend (SQLite's busy handler polls with growing sleeps) and with zhongshu.core.sqlite
(the process's writers queue on a lock first). Prints figures; asserts nothing.

  .venv/bin/python bench/sqlite_writers.py [--threads 8] [--hold-ms 5] [--each 40]

Each thread runs `each` transactions that insert a row and hold the lock `hold-ms` (standing in for
the ORM work of a use case, e.g. a pack check), with 20 ms between them (a gunicorn worker's threads
serving requests). Each backend runs in a child process on a fresh database file."""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENGINES = ["django.db.backends.sqlite3", "zhongshu.core.sqlite"]


def child(engine: str, threads: int, hold: float, each: int) -> dict:
    import django
    from django.conf import settings

    options = {"transaction_mode": "IMMEDIATE", "timeout": 60,
               "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}  # fmt: skip
    name = str(Path(tempfile.mkdtemp(prefix="zhongshu-bench-")) / "writers.sqlite3")
    settings.configure(DATABASES={"default": {"ENGINE": engine, "NAME": name, "OPTIONS": options}})
    django.setup()
    from django.db import connection, transaction

    with connection.cursor() as c:
        c.execute("CREATE TABLE t (x integer)")
    connection.close()
    waits: list[float] = []
    guard = threading.Lock()

    def work() -> None:
        for _ in range(each):
            t = time.perf_counter()
            with transaction.atomic():
                waited = time.perf_counter() - t
                with connection.cursor() as c:
                    c.execute("INSERT INTO t VALUES (1)")
                time.sleep(hold)
            with guard:
                waits.append(waited)
            time.sleep(0.02)
        connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    waits.sort()
    return {
        "backend": engine,
        "transactions": len(waits),
        "seconds": round(time.perf_counter() - start, 2),
        "wait_p50_ms": round(waits[len(waits) // 2] * 1000, 1),
        "wait_p99_ms": round(waits[int(len(waits) * 0.99)] * 1000, 1),
        "wait_max_ms": round(waits[-1] * 1000, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--hold-ms", type=float, default=5.0)
    p.add_argument("--each", type=int, default=40)
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.threads, args.hold_ms / 1000, args.each)))
        return
    root = Path(__file__).resolve().parents[1]
    for engine in ENGINES:
        out = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--threads", str(args.threads),
             "--hold-ms", str(args.hold_ms), "--each", str(args.each)],
            capture_output=True, text=True, check=True, env={"PYTHONPATH": str(root / "src")},
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
