"""`zhongshu sandbox create|list|drop` and `zhongshu loadtest --sandbox`, for real: each command in its own
process on a fresh demo instance in a temporary home (SQLite, or a fresh PostgreSQL database when the
run is on PostgreSQL), the load test's server and load generator in processes of their own."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import dj_database_url
import pytest
from typer.testing import CliRunner

from zhongshu.cli import app

runner = CliRunner()

# what a check prints: every table's row count, every stock row, and the instance's first order
SNAPSHOT = """
import json, django
django.setup()
from django.apps import apps
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order
counts = {m._meta.label: m.objects.count() for m in apps.get_models()}
stock = sorted(StockLevel.objects.values_list("sku__code", "warehouse__code", "physical", "reserved", "in_transit"))
from zhongshu.channels.models import ShopCredential, SyncState
o = Order.objects.order_by("pk").first()
creds = sorted([c.shop_id, c.api_base_url, c.app_key, c.app_secret, c.access_token, c.push_secret] for c in ShopCredential.objects.all())
syncs = sorted([s.shop_id, s.enabled, s.interval_seconds, str(s.cursor)] for s in SyncState.objects.all())
print(json.dumps({"counts": counts, "stock": stock, "receiver": [o.receiver_name, o.receiver_phone, o.receiver_address],
                  "phone_hash": o.receiver_phone_hash, "phones": Order.objects.values("receiver_phone_hash").distinct().count(),
                  "credentials": creds, "sync": syncs}))
"""

# the run's orders in the sandbox: every planned id once, per path
RUN = """
import json, django
django.setup()
from django.db.models import Count
from zhongshu.orders.models import Order
from zhongshu.loadtest import LOADTEST_IDS
mine = Order.objects.filter(channel_order_id__regex=LOADTEST_IDS)
twice = mine.values("channel_order_id").annotate(n=Count("id")).filter(n__gt=1).count()
print(json.dumps({"orders": mine.count(), "twice": twice,
                  "pulled": sorted(set(mine.filter(channel_order_id__startswith="8").values_list("shop__platform", flat=True)))}))
"""

# what only a platform, a carrier or a subscriber would see: set on the instance before the copy
OUTSIDE = """
import django
django.setup()
from zhongshu.channels.models import Shop, ShopCredential
from zhongshu.notify.models import Channel
from zhongshu.shipping.models import WaybillAccount
from zhongshu.webhooks.services import create_endpoint
cred = ShopCredential(shop=Shop.objects.get(code="tb"), app_key="12345678")
cred.app_secret, cred.access_token, cred.push_secret = "real-app-secret", "real-token", "own-push-secret"
cred.save()
Channel.objects.create(name="ops", kind="dingtalk", active=True)
create_endpoint("http://127.0.0.1:9/erp", ["order.allocated"], "erp", "test")
WaybillAccount.objects.filter(shop=cred.shop, carrier="SF").delete()  # the demo's sandbox account
WaybillAccount.objects.create(
    shop=cred.shop, carrier="SF", provider="sf", partner_id="P1", check_word="real-sf-check-word",
    sender_name="仓库", sender_phone="02012345678", sender_province="广东省", sender_city="广州市",
    sender_address="仓库路1号",
)
print(WaybillAccount.objects.exclude(provider="sandbox").count())
"""

# the same, read inside the sandbox
INSIDE = """
import json, django
django.setup()
from zhongshu.channels.models import ShopCredential
from zhongshu.notify.models import Channel
from zhongshu.orders.models import Order
from zhongshu.orders.receiver import by_phone
from zhongshu.shipping.models import WaybillAccount
from zhongshu.webhooks.models import WebhookEndpoint
cred = ShopCredential.objects.get(shop__code="tb")
o = Order.objects.order_by("pk").first()
print(json.dumps({
    "api_base_url": cred.api_base_url, "app_secret": cred.app_secret, "access_token": cred.access_token,
    "push_secret": cred.push_secret, "channels_on": Channel.objects.filter(active=True).count(),
    "webhooks_on": WebhookEndpoint.objects.filter(active=True).count(),
    "real_waybills": WaybillAccount.objects.exclude(provider="sandbox").count(),
    "check_words": WaybillAccount.objects.exclude(check_word="").count(),
    "found_by_phone": by_phone(Order.objects.all(), o.receiver_phone).filter(pk=o.pk).exists(),
}))
"""


@pytest.fixture
def instance(tmp_path):
    """A fresh demo instance: its environment (home, database); its PostgreSQL database dropped after."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        ZHONGSHU_HOME=str(tmp_path / "home"),
        DJANGO_SETTINGS_MODULE="zhongshu.settings",
        ZHONGSHU_WEBHOOK_ALLOW_PRIVATE="1",
    )  # the subscriber below is a local address
    url = os.environ.get("ZHONGSHU_DATABASE_URL", "")
    db = None
    if url.startswith("postgres"):
        db = dj_database_url.parse(url)
        name = f"{db['NAME']}_sbx{uuid.uuid4().hex[:6]}"
        _psql(db, f'CREATE DATABASE "{name}"')
        env["ZHONGSHU_DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
    demo = _zs(env, "demo", "--no-serve", timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    yield env
    if db:  # the instance's, and the copies a failed test left behind
        for sandbox in ("rehearsal", "anon"):
            _psql(db, f'DROP DATABASE IF EXISTS "{name}_sb_{sandbox}" WITH (FORCE)')
        _psql(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_rehearsal_copy_load_and_drop_leave_the_instance_unchanged(instance):
    env = instance
    assert _py(env, OUTSIDE) == "1"  # one waybill account of a real service
    before = json.loads(_py(env, SNAPSHOT))

    created = _zs(env, "sandbox", "create", "rehearsal")
    assert created.returncode == 0, created.stdout + created.stderr
    home = Path(env["ZHONGSHU_HOME"])
    sandbox = {**env, "ZHONGSHU_SANDBOX": "rehearsal"}
    assert (home / "sandboxes/rehearsal/secret.key").read_text() != (home / "secret.key").read_text()

    inside = json.loads(_py(sandbox, INSIDE))
    assert inside["api_base_url"].startswith("http://127.0.0.1:")
    assert inside["app_secret"] != "real-app-secret" and inside["access_token"] != "real-token"
    assert inside["push_secret"] == "own-push-secret"  # the hub's own: decrypts under the sandbox's key
    assert inside == {
        **inside,
        "channels_on": 0,
        "webhooks_on": 0,
        "real_waybills": 0,
        "check_words": 0,
        "found_by_phone": True,
    }
    copy = json.loads(_py(sandbox, SNAPSHOT))
    assert copy["receiver"] == before["receiver"]  # same clear values, other keys: other blind indexes
    assert copy["phone_hash"] != before["phone_hash"] and copy["phones"] == before["phones"]
    assert copy["stock"] == before["stock"]

    # every path (API, platform doubles pulled by the connectors, signed pushes, file import), a tenth
    # of the doubles' answers delayed past the connectors' timeout
    run = _zs(env, "loadtest", "--sandbox", "rehearsal", "--rate", "20", "--duration", "10s", "--timeouts",
              "0.1", "--json", timeout=400)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["oversold"] == 0 and report["reserved_mismatch_count"] == 0
    assert 150 <= report["orders"] <= 250 and report["orders_per_second"] > 0
    assert (
        set(report["paths"]) == {"api", "pull", "push", "file"}
        and sum(report["paths"].values()) == report["orders"]
    )
    assert set(report["latency_ms"]) == {"p50", "p95", "p99"} and report["repeat_buyers"] > 0
    assert set(report["latency_ms_by_path"]) == set(report["paths"])
    assert {"p50", "p99"} <= set(report["db_ms"]) and report["db_ms"]["requests"] > 0
    # the doubles were pulled through the connectors (each platform), and the delayed answers counted
    third = report["third_party"]
    assert {"taobao", "jd", "pdd"} <= set(third["by_platform"]) and third["timeouts"] > 0
    assert third["timeout_rate"] == round(third["timeouts"] / third["requests"], 4)
    assert report["backlog"] and {"t", "outbox_pending", "push_inbox_pending", "unsettled"} <= set(
        report["backlog"][0]
    )
    # every order answered is in the hub; on a busy machine some answers come after the client gave up
    # (TimeoutError), never a server error
    assert sum(report["answered"].values()) <= report["orders_in_hub"] <= report["orders"]
    # a loaded machine may shed requests with a fast 503 (overload behaviour); no other server error
    assert not [k for k in report["errors"] if "http_5" in k and not k.endswith("http_503")], report["errors"]
    if not report["errors"]:  # every planned order arrived, once
        assert report["orders_in_hub"] == report["orders"] and report["missing"] == 0
        assert report["by_status"]["cancelled"] > 0
    assert {"orders", "seconds", "orders_per_second", "latency_ms", "errors", "oversold"} <= set(report)
    arrived = json.loads(_py(sandbox, RUN))
    assert arrived["twice"] == 0 and arrived["orders"] == report["orders_in_hub"]
    assert arrived["pulled"] == ["jd", "pdd", "taobao"]

    after = json.loads(_py(env, SNAPSHOT))
    assert after == before  # the instance: every table's rows, every stock row
    loaded = json.loads(_py(sandbox, SNAPSHOT))
    assert loaded["counts"]["orders.Order"] == before["counts"]["orders.Order"] + report["orders_in_hub"]

    listed = _zs(env, "sandbox", "list")
    assert "rehearsal" in listed.stdout
    dropped = _zs(env, "sandbox", "drop", "rehearsal")
    assert dropped.returncode == 0, dropped.stderr
    assert not (home / "sandboxes/rehearsal").exists()
    assert "no sandboxes" in _zs(env, "sandbox", "list").stdout
    gone = subprocess.run([sys.executable, "-c", SNAPSHOT], env=sandbox, capture_output=True, text=True)
    assert gone.returncode != 0 and "no sandbox 'rehearsal'" in gone.stderr


def test_anonymised_copy_replaces_receivers_and_keeps_repeat_buyers_together(instance):
    env = instance
    before = json.loads(_py(env, SNAPSHOT))
    created = _zs(env, "sandbox", "create", "anon", "--anonymise")
    assert created.returncode == 0, created.stdout + created.stderr
    copy = json.loads(_py({**env, "ZHONGSHU_SANDBOX": "anon"}, SNAPSHOT))
    name, phone, address = copy["receiver"]
    assert (
        name != before["receiver"][0] and phone != before["receiver"][1] and address != before["receiver"][2]
    )
    assert phone.startswith("199") and "沙箱路" in address
    assert copy["phones"] == before["phones"]  # one stand-in per phone: the same buyers still merge
    assert json.loads(_py(env, SNAPSHOT)) == before
    assert _zs(env, "sandbox", "create", "anon").returncode == 1  # exists
    assert _zs(env, "sandbox", "drop", "anon").returncode == 0


def test_wrong_names_and_a_load_test_without_a_target_are_refused():
    assert runner.invoke(app, ["sandbox", "create", "Bad Name"]).exit_code == 1
    assert runner.invoke(app, ["sandbox", "drop", "nowhere"]).exit_code == 1
    refused = runner.invoke(app, ["loadtest", "--rate", "5", "--duration", "1s"])
    assert refused.exit_code == 1 and "--sandbox" in refused.output
    missing = runner.invoke(app, ["loadtest", "--sandbox", "nowhere"])
    assert missing.exit_code == 1 and "no sandbox named 'nowhere'" in missing.output
    assert runner.invoke(app, ["--sandbox", "nowhere", "migrate"]).exit_code == 1


def _zs(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zhongshu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _py(env: dict, code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _psql(db: dict, sql: str) -> None:
    import psycopg

    with psycopg.connect(
        dbname="postgres", host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
        password=db["PASSWORD"] or None, autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(sql)
