"""The sync circuit breaker (R-PEAK3) on PostgreSQL with two real worker processes (`zhongshu worker`,
the zstest connector registered) sharing a Redis queue, against the zstest platform double in this
process and a WeCom robot double for the alerts, on a clock that runs: the platform stops answering
past a lowered threshold (5 s, sustained 3 s), the breaker opens; the orders it lists when it is back
(placed during the outage, listed out of order) are held; once the delay is below the threshold the workers take
them in in platform-timestamp order at 240 a minute, once each, and the breaker closes — each
transition once, although both workers evaluate it every half second.
Needs ZHONGSHU_TEST_POSTGRES_URL and ZHONGSHU_TEST_REDIS_URL (skips without them)."""

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from tests.integration.channels.fake_platform import APP_KEY, APP_SECRET, FakeDouble
from tests.platforms.robots import WeComRobot
from tests.scaleout.conftest import _require

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

SEED = """
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from zhongshu.catalog.models import Sku
from zhongshu.channels import breaker
from zhongshu.channels.models import Breaker, Shop, ShopCredential, SyncState
from zhongshu.inventory.models import Warehouse
from zhongshu.notify.models import Channel
from zhongshu.orders.services import stocktake
sku = Sku.objects.create(code="DUMPLING-500G", title="手工水饺 500g", cost_price=Decimal("20.00"))
stocktake(sku, Warehouse.objects.get(code="CD"), 10000, 0, Decimal("0.8"), "seed")
shop = Shop.objects.create(code="zs1", name="测试店", platform="zstest")
cred = ShopCredential(shop=shop, app_key="{app_key}", api_base_url="{double}")
cred.app_secret, cred.access_token, cred.refresh_token = "{app_secret}", "{token}", "rt-initial"
cred.expires_at = timezone.now() + timedelta(days=1)
cred.save()
SyncState.objects.create(shop=shop, interval_seconds=1, cursor=timezone.now())
breaker.ensure_rows()
Breaker.objects.filter(scope="zs1").update(threshold_seconds=5, sustain_seconds=3)
Breaker.objects.filter(scope="*").update(drain_per_minute=240)
ch = Channel(name="值班群", kind="wecom", base_url="{robot}")
ch.token = "{robot_key}"
ch.save()
"""


@pytest.fixture
def site():
    pg_url = _require("ZHONGSHU_TEST_POSTGRES_URL")
    redis_url = _require("ZHONGSHU_TEST_REDIS_URL")
    parts = urlsplit(pg_url)
    name = f"{parts.path.lstrip('/') or 'zhongshu'}_breaker"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        redis.Redis.from_url(redis_url).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"services unreachable: {exc}")
    db_url = urlunsplit(parts._replace(path=f"/{name}"))
    home = tempfile.mkdtemp(prefix="zhongshu-breaker-")
    env = {**os.environ, "ZHONGSHU_HOME": home, "ZHONGSHU_DATABASE_URL": db_url, "ZHONGSHU_REDIS_URL": redis_url,
           "ZHONGSHU_QUEUE_NAME": f"breaker-{os.getpid()}", "DJANGO_SETTINGS_MODULE": "zhongshu.settings",
           "ZHONGSHU_BREAKER_TICK_SECONDS": "0.5", "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("ZHONGSHU_QUEUE_IMMEDIATE", None)
    subprocess.run([str(BIN / "zhongshu"), "migrate"], env=env, check=True, capture_output=True, timeout=180)
    workers: list[subprocess.Popen] = []
    with FakeDouble() as double, WeComRobot() as robot:
        seed = SEED.format(app_key=APP_KEY, app_secret=APP_SECRET, double=double.url, token=double.issue_token(),
                           robot=robot.url, robot_key=robot.key)  # fmt: skip
        out = subprocess.run([str(BIN / "django-admin"), "shell", "-c", seed], env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        assert out.returncode == 0, out.stderr
        try:
            for _ in range(2):
                workers.append(subprocess.Popen([sys.executable, str(ROOT / "tests/scaleout/breaker_worker.py")],
                                                env=env, cwd=ROOT))  # fmt: skip
            yield double, robot, db_url
        finally:
            for p in workers:
                p.terminate()
            for p in workers:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def sql(db_url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def state(db_url: str) -> str:
    return sql(db_url, "SELECT state FROM channels_breaker WHERE scope = 'zs1'")[0][0]


def test_two_workers_open_hold_and_drain_in_platform_time_order(site):
    double, robot, db_url = site
    wait_for(lambda: sql(db_url, "SELECT 1 FROM channels_syncstate WHERE last_success_at IS NOT NULL"), 60,
             "the workers' first pull")  # fmt: skip
    assert state(db_url) == "closed"

    double.outage()  # the platform stops answering: the cursor stays, the delay grows
    wait_for(lambda: state(db_url) == "open", 40, "the breaker to open")
    cursor = sql(db_url, "SELECT cursor FROM channels_syncstate")[0][0]
    step = (datetime.now(UTC) - cursor) / 41
    ids = [f"P-{n:02d}" for n in range(40)]
    for n, oid in random.Random(11).sample(list(enumerate(ids)), len(ids)):
        double.add(oid, cursor + step * (n + 1))  # placed during the outage, listed out of order
    double.end_outage()

    wait_for(
        lambda: sql(db_url, "SELECT count(*) FROM channels_heldorder")[0][0] >= 40, 40, "the orders held"
    )
    wait_for(lambda: state(db_url) == "closed", 90, "the breaker to drain and close")
    # a pull that began before the close may store its last orders just after it: the next tick takes
    # them in (each tick drains whatever is held, whatever the state)
    wait_for(lambda: not sql(db_url, "SELECT 1 FROM channels_heldorder WHERE released_at IS NULL"), 10,
             "the stragglers")  # fmt: skip

    taken = [r[0] for r in sql(db_url, "SELECT channel_order_id FROM orders_order ORDER BY id")]
    assert taken == ids  # in platform-timestamp order, none lost, none twice
    held = sql(
        db_url, "SELECT channel_order_id, released_at FROM channels_heldorder ORDER BY platform_ts, id"
    )
    assert [r[0] for r in held] == ids and all(r[1] for r in held)  # every order was held, then taken in
    batches = sql(db_url, "SELECT count(DISTINCT released_at) FROM channels_heldorder")[0][0]
    assert batches >= 3  # 40 orders at 240 a minute: several drains, not one
    topics = [
        r[0] for r in sql(db_url, "SELECT topic FROM core_outboxevent WHERE key = 'breaker:zs1' ORDER BY id")
    ]
    assert topics == ["channel.breaker.opened", "channel.breaker.recovering", "channel.breaker.closed"]
    wait_for(lambda: len(robot.messages) >= 3, 30, "the alerts")
    time.sleep(1)
    titles = [m["markdown"]["content"].splitlines()[0] for m in robot.messages]
    assert titles == [
        "### 【告警】同步熔断 店铺 zs1",
        "### 【持续告警】同步熔断 店铺 zs1",
        "### 【已恢复】同步熔断 店铺 zs1",
    ]
