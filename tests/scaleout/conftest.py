"""The scale-out deployment for real: PostgreSQL, Redis, gunicorn with several processes and two
`zhongshu worker` processes, all started as subprocesses. Needs ZHONGSHU_TEST_POSTGRES_URL and
ZHONGSHU_TEST_REDIS_URL; without them the suite skips, except under CI=true where it fails."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
import redis

BIN = Path(sys.executable).parent
DB_NAME = "zhongshu_scaleout"

SEED = """
from decimal import Decimal
from django.contrib.auth import get_user_model
from zhongshu.catalog.models import Sku
from zhongshu.channels.models import Shop
from zhongshu.inventory.models import Warehouse
from zhongshu.orders.services import stocktake
get_user_model().objects.create_superuser("admin", password="scaleout-admin")
Shop.objects.create(code="mp", name="小程序", platform="own")
sku = Sku.objects.create(code="DUMPLING-500G", title="手工水饺 500g", cost_price=Decimal("20.00"))
stocktake(sku, Warehouse.objects.get(code="CD"), 30, 0, Decimal("0.8"), "seed")
"""


def _require(name: str) -> str:
    url = os.environ.get(name, "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not set: the scale-out suite must run in CI")
        pytest.skip(f"{name} not set (set it to run the scale-out suite)")
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deployment:
    def __init__(self, env: dict, base_url: str, token: str, db_url: str):
        self.env, self.base_url, self.db_url = env, base_url, db_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.workers: list[subprocess.Popen] = []
        self.web: subprocess.Popen | None = None

    def run(self, *args: str, input: str | None = None) -> str:
        out = subprocess.run(args, env=self.env, input=input, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"{args} failed:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    def shell(self, code: str) -> str:
        return self.run(str(BIN / "django-admin"), "shell", "-c", code)

    def start_worker(self) -> subprocess.Popen:
        p = subprocess.Popen([str(BIN / "zhongshu"), "worker", "--workers", "2"], env=self.env)
        self.workers.append(p)
        return p

    def sql(self, query: str, *params):
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def deployment():
    pg_url = _require("ZHONGSHU_TEST_POSTGRES_URL")
    redis_url = _require("ZHONGSHU_TEST_REDIS_URL")
    admin_url = urlunsplit(urlsplit(pg_url)._replace(path="/postgres"))  # the target db need not exist
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        redis.Redis.from_url(redis_url).flushdb()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"scale-out services unreachable: {exc}")
        pytest.skip(f"scale-out services unreachable: {exc}")
    parts = urlsplit(pg_url)
    db_url = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    home = tempfile.mkdtemp(prefix="zhongshu-scaleout-")
    env = {
        **os.environ,
        "ZHONGSHU_HOME": home,
        "ZHONGSHU_DATABASE_URL": db_url,
        "ZHONGSHU_REDIS_URL": redis_url,
        "ZHONGSHU_QUEUE_NAME": f"scaleout-{os.getpid()}",
        "DJANGO_SETTINGS_MODULE": "zhongshu.settings",
    }
    env.pop("ZHONGSHU_QUEUE_IMMEDIATE", None)
    port = _free_port()
    d = Deployment(env, f"http://127.0.0.1:{port}", "", db_url)
    d.run(str(BIN / "zhongshu"), "migrate")
    d.shell(SEED)
    token = d.run(str(BIN / "zhongshu"), "token", "create", "--user", "admin").strip()
    d.headers = {"Authorization": f"Bearer {token}"}
    d.web = subprocess.Popen(
        [str(BIN / "zhongshu"), "serve", "--port", str(port), "--workers", "3", "--no-worker"], env=env
    )
    d.start_worker()
    d.start_worker()
    try:
        d.wait_for(lambda: _healthy(d.base_url), timeout=30, what="the web server")
        yield d
    finally:
        for p in [d.web, *d.workers]:
            if p and p.poll() is None:
                p.terminate()
        for p in [d.web, *d.workers]:
            if p:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(home, ignore_errors=True)


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/api/v1/health", timeout=1).json() == {"status": "ok"}
    except (httpx.HTTPError, ValueError):
        return False
