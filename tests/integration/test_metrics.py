"""`/metrics` for Prometheus: the text format, backlog gauges equal to the database, the intake counter,
the bearer token; and under `zhongshu serve` with two web workers, counters added up across processes."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import example_order, put_stock
from tests.integration.test_cli import _command, _free_port, _wait_for_health
from zhongshu.channels.models import SyncState
from zhongshu.core.auth import create_token
from zhongshu.core.metrics import STAGES
from zhongshu.core.roles import INTEGRATION, ensure_roles
from zhongshu.notify.models import AlertRule, AlertState
from zhongshu.orders.models import Order
from zhongshu.shops.models import Shop

TOKEN = "metrics-secret"
pytestmark = pytest.mark.usefixtures("metrics_token")


@pytest.fixture
def metrics_token():
    with override_settings(METRICS_TOKEN=TOKEN):
        yield


@pytest.fixture
def post_order(hub, client):
    """Posts orders through the API as a system in the integration role (intake token)."""
    ensure_roles()
    get_user_model().objects.create_user("erp", password="x").groups.add(Group.objects.get(name=INTEGRATION))
    token = create_token("erp", scope="intake")

    def post(**changes):
        r = client.post(
            "/api/v1/orders",
            example_order(**changes),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert r.status_code in (200, 201), r.content
        return r

    return post


def scrape(client, token=TOKEN) -> dict[str, list]:
    r = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(r.content.decode())}


def by_label(samples, label: str, name: str | None = None) -> dict[str, float]:
    return {s.labels[label]: s.value for s in samples if name is None or s.name == name}


def intake_total(families) -> float:
    return sum(s.value for s in families["zhongshu_intake_orders"] if s.name.endswith("_total"))


def intake_calls(families) -> float:
    return next(s.value for s in families["zhongshu_intake_duration_seconds"] if s.name.endswith("_count"))


def test_backlog_gauges_equal_the_database_and_intake_is_counted(client, post_order):
    put_stock("DUMPLING-500G", "CD", 2)  # two orders get stock, the third is backordered
    before = scrape(client)
    count_before = intake_total(before)
    calls_before = intake_calls(before)

    for n in range(3):
        post_order(channel_order_id=f"MX{n}")
    post_order(channel_order_id="MX0")  # the same order again: unchanged, still taken in
    post_order(channel_order_id="MX9", status="pending_payment")  # not paid: in no stage

    families = scrape(client)
    backlog = by_label(families["zhongshu_backlog_orders"], "stage")
    in_db = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
    assert backlog == {stage: in_db.get(stage, 0) for stage in STAGES}
    assert sum(backlog.values()) == 3 and backlog["allocated"] + backlog["backordered"] == 3
    assert intake_total(families) - count_before == 5
    counted = {
        (s.labels["channel"], s.labels["outcome"]): s.value
        for s in families["zhongshu_intake_orders"]
        if s.name.endswith("_total")
    }
    assert counted[("own", "created")] >= 4 and counted[("own", "unchanged")] >= 1
    assert intake_calls(families) - calls_before == 5
    assert families["zhongshu_queue_pending_tasks"][0].value >= 0


def test_sync_lag_and_firing_alerts(client, hub):
    tb = Shop.objects.get(code="tb")
    SyncState.objects.update_or_create(
        shop=tb, defaults={"enabled": True, "last_success_at": timezone.now() - timedelta(minutes=7)}
    )
    rule = AlertRule.objects.create(name="积压", metric="pending_orders", threshold=1)
    AlertRule.objects.create(name="同步", metric="sync_lag_minutes", threshold=30)
    AlertState.objects.create(rule=rule, subject="", firing=True)

    families = scrape(client)

    lag = by_label(families["zhongshu_sync_lag_seconds"], "shop")
    assert list(lag) == ["tb"] and 7 * 60 <= lag["tb"] < 8 * 60  # the own shop pushes: no lag
    firing = by_label(families["zhongshu_alerts_firing"], "rule")
    assert set(firing) == set(AlertRule.objects.filter(active=True).values_list("name", flat=True))
    assert (firing["积压"], firing["同步"], sum(firing.values())) == (1, 0, 1)


def test_a_token_is_required(client, db):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401  # no scheme
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    with override_settings(METRICS_TOKEN=""):
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404  # off


SEED = textwrap.dedent(
    """
    import django
    django.setup()
    from zhongshu.catalog.models import Sku
    from zhongshu.core.auth import create_token
    from zhongshu.shops.models import Shop
    from django.contrib.auth import get_user_model
    Shop.objects.create(code="mp", name="小程序", platform="own")
    Sku.objects.create(code="DUMPLING-500G", title="水饺", cost_price="20.00")
    get_user_model().objects.create_superuser("root", password="x")
    print(create_token("root"))
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")
def test_serve_with_two_web_workers_adds_up_the_counters_of_every_process(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ZHONGSHU_QUEUE_IMMEDIATE", "ZHONGSHU_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    home = tmp_path / "home"
    env.update(
        ZHONGSHU_HOME=str(home), DJANGO_SETTINGS_MODULE="zhongshu.settings", ZHONGSHU_METRICS_TOKEN=TOKEN
    )
    migrate = subprocess.run([*_command(), "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    seed = subprocess.run([sys.executable, "-c", SEED], env=env, capture_output=True, text=True, timeout=60)
    assert seed.returncode == 0, seed.stderr
    api_token = seed.stdout.strip().splitlines()[-1]
    (home / "metrics").mkdir()
    (home / "metrics" / "counter_999999.db").write_bytes(b"stale")  # from an earlier run: cleared
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.out"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*_command(), "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(proc, f"{base}/api/v1/health", log_path, timeout=30)
        n = 12
        for i in range(n):  # a new connection each time: either web worker may take it
            r = httpx.post(
                f"{base}/api/v1/orders",
                json=example_order(channel_order_id=f"MP-{i}"),
                headers={"Authorization": f"Bearer {api_token}"},
                timeout=10,
            )
            assert r.status_code == 201, r.text
        for _ in range(6):  # whichever worker answers, it sees every process's count
            r = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
            assert r.status_code == 200, r.text
            families = {f.name: f.samples for f in text_string_to_metric_families(r.text)}
            assert intake_total(families) == n
            backlog = by_label(families["zhongshu_backlog_orders"], "stage")
            assert backlog["backordered"] == n  # no stock in the seeded hub
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        assert not (home / "metrics" / "counter_999999.db").exists()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "Traceback" not in log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
