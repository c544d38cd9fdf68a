"""The KPI report (R-MON3) on a hub whose records are written here with known times: every figure is
worked out by hand below from those records and must equal the report (page and Excel alike)."""

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from openpyxl import load_workbook

from tests.factories import example_order, put_stock
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import MANAGEMENT, WAREHOUSE, ensure_roles
from zhongshu.core.timeutil import SHANGHAI, local_day
from zhongshu.fulfilment.models import Package, PackageTransition
from zhongshu.inventory.models import Warehouse
from zhongshu.monitor import health, kpi
from zhongshu.monitor.models import HealthSample
from zhongshu.orders.decisions import CANCELLED_MARK, REFUND_HOLD
from zhongshu.orders.models import Order, OrderHold
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.shops.models import Shop

TODAY = local_day(timezone.now())
D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


def at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def _orders(prefix: str, paid: datetime, n: int) -> list[Order]:
    stamp = paid.isoformat()
    payloads = [
        OrderIn.model_validate(
            example_order(channel_order_id=f"{prefix}{i}", created_at=stamp, paid_at=stamp, updated_at=stamp)
        )
        for i in range(n)
    ]
    intake(payloads, actor="test")
    return list(Order.objects.filter(channel_order_id__startswith=prefix).order_by("pk"))


def _package(**stamps) -> Package:
    return Package.objects.create(
        warehouse=Warehouse.objects.get(code="GZ"), shop=Shop.objects.get(code="mp"), **stamps
    )


@pytest.fixture
def records(hub):
    put_stock("DUMPLING-500G", "GZ", 100)
    put_stock("DUMPLING-500G", "CD", 100)
    d1_orders = _orders("A", at(D1, 9), 4)
    _orders("B", at(D2, 9), 2)
    # D1: ten packages packed 1..10 hours after payment
    packed = [_package(paid_at=at(D1, 0), packed_at=at(D1, h), status="packed") for h in range(1, 11)]
    # D2: two shipped 24 and 48 hours after payment (paid on D1 resp. the day before)
    _package(
        paid_at=at(D1, 6), packed_at=at(D1 - timedelta(days=3), 1), shipped_at=at(D2, 6), status="shipped"
    )
    _package(paid_at=at(D1 - timedelta(days=1), 6), shipped_at=at(D2, 6), status="shipped")
    # D1 checks: a refused scan on a package packed later, and a weigh-check stop
    OutboxEvent.objects.create(
        topic=kpi.CHECK_REFUSED, key=f"package:{packed[0].pk}", payload={}, actor="pda:li"
    )
    OutboxEvent.objects.filter(topic=kpi.CHECK_REFUSED).update(created_at=at(D1, 1))
    stopped = _package(
        paid_at=at(D1, 0), status="stopped", measured_weight_g=900, stop_code="weight_out_of_tolerance"
    )
    PackageTransition.objects.create(
        package=stopped, from_status="picked", to_status="stopped", actor="pda:li", at=at(D1, 12)
    )
    # labour: two actions by a person on D1 (one of them wrote two events at once), one on D2; system ignored
    for key, topic, when, actor in [
        ("order:1", "order.status_changed", at(D1, 10), "admin:ops"),
        ("order:1", "order.hold_released", at(D1, 10), "admin:ops"),
        ("order:2", "order.status_changed", at(D1, 11), "admin:ops"),
        ("order:3", "order.status_changed", at(D1, 11), "system"),
        ("order:3", "order.remark_changed", at(D2, 11), "console:ops"),
    ]:
        ev = OutboxEvent.objects.create(topic=topic, key=key, payload={}, actor=actor)
        OutboxEvent.objects.filter(pk=ev.pk).update(created_at=when)
    # interceptions on D1: two orders held (one then cancelled in review), a refund hold is none
    a0, a1, a2 = d1_orders[:3]
    OrderHold.objects.create(order=a0, code="address_check", reason="x", created_at=at(D1, 10))
    OrderHold.objects.create(
        order=a1, code="price_check", reason="x", created_at=at(D1, 10), released_at=at(D1, 11),
        released_by=f"admin:ops {CANCELLED_MARK}",
    )  # fmt: skip
    Order.objects.filter(pk=a1.pk).update(status="cancelled")
    OrderHold.objects.create(order=a2, code=REFUND_HOLD, reason="x", created_at=at(D1, 10))
    # health: every minute of D2 but 10:00-10:59, 30 minutes down; peak mode 20:00-21:59 with
    # 20:30-20:34 missing and 3 of its minutes down
    samples = []
    for m in range(24 * 60):
        when = at(D2, 0) + timedelta(minutes=m)
        if when.hour == 10 or (when.hour == 20 and 30 <= when.minute < 35):
            continue
        peak = when.hour in (20, 21)
        down = (when.hour == 3 and when.minute < 27) or (when.hour == 21 and when.minute < 3)
        samples.append(
            HealthSample(
                at=when, api_ok=not down, worker_ok=True, db_latency_ms=3, peak_mode=peak, ok=not down
            )
        )
    HealthSample.objects.bulk_create(samples)
    # a second worker's sample in two minutes: the minute counts once; down if either sample was
    HealthSample.objects.create(
        at=at(D2, 5, 0) + timedelta(seconds=30), api_ok=True, worker_ok=True, db_latency_ms=3, ok=True
    )
    HealthSample.objects.create(
        at=at(D2, 6, 0) + timedelta(seconds=30), api_ok=False, worker_ok=True, db_latency_ms=3, ok=False
    )
    return {"a0": a0, "a1": a1}


def test_daily_figures_equal_the_records(records):
    rep = kpi.report("day", D1, D2, timezone.now())
    d1, d2 = rep.rows
    assert (d1.label, d2.label) == (D1.isoformat(), D2.isoformat())
    assert (d1.orders, d2.orders) == (4, 2)
    # paid → packed on D1: 1..10 hours → mean 5.5, nearest-rank p90 = 9
    assert (d1.packed, d1.packed_avg_h, d1.packed_p90_h) == (10, 5.5, 9.0)
    assert (d2.packed, d2.packed_avg_h) == (0, None)
    # paid → shipped on D2: 24 and 48 hours
    assert (d2.shipped, d2.shipped_avg_h, d2.shipped_p90_h) == (2, 36.0, 48.0)
    # check: 10 packed + the weight stop = 11 checked, 2 with an error
    assert (d1.checked, d1.check_errors, d1.error_rate_pct) == (11, 2, round(200 / 11, 2))
    # availability: sampling began on D2 → nothing measured on D1
    assert (d1.minutes, d1.availability_pct) == (0, None)
    assert (d2.minutes, d2.available_minutes) == (1440, 1440 - 60 - 5 - 27 - 3 - 1)
    assert d2.availability_pct == round(100 * 1344 / 1440, 2)
    assert (d2.peak_minutes, d2.peak_available_minutes, d2.peak_availability_pct) == (
        120,
        112,
        round(11200 / 120, 2),
    )
    # labour: D1 two actions on 4 orders, D2 one on 2
    assert (d1.manual_actions, d1.labour_per_100, d2.manual_actions, d2.labour_per_100) == (2, 50.0, 1, 50.0)
    # interceptions
    a0, a1 = records["a0"], records["a1"]
    assert (d1.intercepted, d1.intercepted_amount) == (2, a0.paid_amount + a1.paid_amount)
    assert d1.avoided_amount == a1.paid_amount and d1.stopped_packages == 1
    assert (d2.intercepted, d2.intercepted_amount, d2.stopped_packages) == (0, Decimal("0.00"), 0)
    total = rep.total
    assert (total.orders, total.packed, total.shipped, total.manual_actions, total.labour_per_100) == (
        6,
        10,
        2,
        3,
        50.0,
    )
    assert (total.checked, total.check_errors, total.intercepted) == (11, 2, 2)
    assert total.minutes == 1440 and total.available_minutes == 1344


def test_weekly_row_adds_up_the_days(records):
    week = kpi.report("week", D1, D2, timezone.now())
    days = kpi.report("day", D1, D2, timezone.now())
    assert week.total.orders == days.total.orders == 6
    assert sum(r.orders for r in week.rows) == 6
    assert sum(r.shipped for r in week.rows) == 2 and sum(r.intercepted for r in week.rows) == 2
    assert all("-W" in r.label for r in week.rows)


def test_p90_is_nearest_rank():
    assert kpi.p90([]) is None
    assert kpi.p90([5.0]) == 5.0
    assert kpi.p90([float(x) for x in range(1, 21)]) == 18.0


@pytest.fixture
def boss(client, db):
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    return client


def test_page_shows_the_figures_and_excel_holds_the_same(records, boss):
    query = f"?period=day&from={D1}&to={D2}"
    page = boss.get("/admin/dashboard/kpi/" + query)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="kpi-time-chart"' in html and "unfold/js/chart/chart.js" in html
    assert "93.33" in html and "50.0" in html  # D2's availability, the labour figure
    r = boss.get("/admin/dashboard/kpi.xlsx" + query)
    assert r.status_code == 200 and r["Content-Disposition"].endswith(f'kpi-day-{D1}-{D2}.xlsx"')
    wb = load_workbook(BytesIO(r.content))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "周期" and "付款→发货 P90(小时)" in header and "避免损失(元)" in header
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {D1.isoformat(), D2.isoformat(), "合计"}
    d1, d2 = rows[D1.isoformat()], rows[D2.isoformat()]
    assert d1["付款订单"] == 4 and d1["付款→打包 P90(小时)"] == 9 and d1["验货发现错漏"] == 2
    assert d2["付款→发货 平均(小时)"] == 36 and d2["可用率(%)"] == round(100 * 1344 / 1440, 2)
    assert Decimal(str(d1["拦截金额(元)"])) == records["a0"].paid_amount + records["a1"].paid_amount
    assert rows["合计"]["人工操作"] == 3
    assert wb.worksheets[1].title == "口径"


def test_bad_range_is_named_and_the_page_still_answers(boss, hub):
    r = boss.get("/admin/dashboard/kpi/?period=week&from=2026-13-01&to=yesterday")
    assert r.status_code == 200
    html = r.content.decode()
    assert "from：日期格式应为 YYYY-MM-DD" in html and "to：日期格式应为 YYYY-MM-DD" in html


def test_report_is_for_management_not_the_warehouse(client, hub):
    ensure_roles()
    users = get_user_model().objects
    for name, role, expected in [("wh", WAREHOUSE, 403), ("mgr", MANAGEMENT, 200)]:
        user = users.create_user(name, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        assert client.get("/admin/dashboard/kpi/").status_code == expected
        assert client.get("/admin/dashboard/kpi.xlsx").status_code == expected


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200 if self.path == "/api/v1/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


def test_health_sample_checks_api_worker_and_database(db):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/health"
    try:
        now = timezone.now()
        ok = health.record_sample(at=now, scheduled=now - timedelta(seconds=5), url=url)
        late = health.record_sample(at=now, scheduled=now - timedelta(minutes=2), url=url)
        gone = health.record_sample(at=now, scheduled=now, url=url.replace("/api/v1/health", "/nothing"))
    finally:
        server.shutdown()
    assert ok.api_ok and ok.worker_ok and ok.ok and ok.db_latency_ms < health.DB_SLOW_MS
    assert late.api_ok and not late.worker_ok and not late.ok
    assert not gone.api_ok and not gone.ok
    assert HealthSample.objects.count() == 3


def test_the_worker_records_a_sample_each_minute_and_prunes_old_ones(db):
    from huey.contrib.djhuey import HUEY

    from zhongshu.monitor.tasks import record_health

    assert record_health.task_class in HUEY._registry._periodic_tasks
    old = HealthSample.objects.create(at=timezone.now() - timedelta(days=401), api_ok=True, worker_ok=True,
                                      db_latency_ms=1, ok=True)  # fmt: skip
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    sample = health.record_sample(at=hour, scheduled=hour, url="http://127.0.0.1:9/api/v1/health")
    assert not HealthSample.objects.filter(pk=old.pk).exists()
    assert sample.worker_ok and not sample.api_ok  # nothing listens on port 9
    assert record_health.call_local() in (True, False) and HealthSample.objects.count() == 2
