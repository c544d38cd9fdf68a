"""What the benchmark scripts share: a child process per database with its own scratch
ZHONGSHU_HOME (and a freshly created PostgreSQL database), waiting for a served URL, the table."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# receivers' provinces of the generated orders: both warehouses' regions, some 华中/西南 (→ CD)
PROVINCES = [
    "四川省",
    "广东省",
    "湖北省",
    "浙江省",
    "北京市",
    "重庆市",
    "湖南省",
    "江苏省",
    "云南省",
    "山东省",
]


def run_child(
    script: str, child_args: list[str], db_url: str | None = None, extra_env: dict | None = None
) -> dict:
    """Run `script --child …` in a fresh embedded home (or on a dropped-and-created PostgreSQL
    database) and return the JSON dict it prints last."""
    home = tempfile.mkdtemp(prefix="zhongshu-bench-")
    # the benches call the API through Django's test client, whose Host is "testserver"
    env = {**os.environ, "ZHONGSHU_HOME": home, "DJANGO_SETTINGS_MODULE": "zhongshu.settings",
           "PYTHONPATH": str(ROOT), "ZHONGSHU_ALLOWED_HOSTS": "testserver", **(extra_env or {})}  # fmt: skip
    for name in ("ZHONGSHU_DATABASE_URL", "ZHONGSHU_REDIS_URL", "ZHONGSHU_QUEUE_IMMEDIATE"):
        env.pop(name, None)
    if db_url:
        recreate_database(db_url)
        env["ZHONGSHU_DATABASE_URL"] = db_url
    out = subprocess.run([sys.executable, script, "--child", *child_args], env=env, cwd=ROOT,
                         capture_output=True, text=True)  # fmt: skip
    if out.returncode != 0:
        sys.exit(f"benchmark child failed (its home: {home}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def recreate_database(db_url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = urlsplit(db_url).path.lstrip("/")
    if not name or name == "postgres":
        sys.exit(f"--postgres needs a scratch database name in the URL (it is dropped): {db_url}")
    admin_url = urlunsplit(urlsplit(db_url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wait_http(url: str, seconds: float = 30) -> None:
    """Wait until GET url answers 200 (a server process starting)."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def print_table(results: list[dict], width: int = 22, label: int = 40) -> None:
    """One row per figure, one column per database."""
    print(f"{'figure':{label}}" + "".join(f"{r['database']:>{width}}" for r in results))
    for key in results[0]:
        if key != "database":
            cells = (json.dumps(r.get(key), ensure_ascii=False) if not isinstance(r.get(key), str) else r[key]
                     for r in results)  # fmt: skip
            print(f"{key:{label}}" + "".join(f"{c:>{width}}" for c in cells))
