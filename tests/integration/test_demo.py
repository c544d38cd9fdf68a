"""Demo data (zhongshu/demo.py) and `zhongshu demo --no-serve`, on the real database and intake."""

import re
from collections import defaultdict
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone
from typer.testing import CliRunner

from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.channels.models import Shop
from zhongshu.cli import app
from zhongshu.core.models import OutboxEvent
from zhongshu.demo import ensure_admin, load_demo
from zhongshu.demo_day import ALERT_RULE
from zhongshu.fulfilment.domain import PackageStatus
from zhongshu.fulfilment.models import Package, PackageTransition, Wave
from zhongshu.fulfilment.services import WEIGHT_STOP
from zhongshu.inventory.models import StockLevel, TransferAlert
from zhongshu.monitor.models import HealthSample
from zhongshu.notify.models import AlertEvent, AlertState
from zhongshu.orders.decisions import CANCELLED_MARK, EDITED_MARK
from zhongshu.orders.exceptions import month_figures
from zhongshu.orders.models import Order, OrderHold, OrderLine, OrderTransition
from zhongshu.orders.states import RESERVING
from zhongshu.shipping.models import ShipConfirmation


def test_demo_builds_a_hub_with_orders_in_real_states(db):
    counts = load_demo()

    assert set(Shop.objects.values_list("code", flat=True)) == {"tb", "jd", "pdd", "dy", "mp"}
    assert 45 <= Sku.objects.count() <= 55
    assert Sku.objects.filter(presale=True, supply_date__isnull=False).count() >= 3
    assert StockLevel.objects.filter(physical=0, in_transit=0).exists()  # the cause of backorders
    assert StockLevel.objects.filter(in_transit__gt=0).exists()
    assert 300 <= Order.objects.count() <= 500 and counts.total() == Order.objects.count()
    allocated = Order.objects.filter(status="allocated")
    assert set(allocated.values_list("warehouse__code", flat=True)) == {"GZ", "CD"}
    assert counts["allocated"] > counts["backordered"] >= 10
    assert counts["cancelled"] >= 10 and counts["pending_payment"] >= 5
    assert set(Order.objects.values_list("shop__code", flat=True)) == {"tb", "jd", "pdd", "dy", "mp"}
    assert Order.objects.values("receiver_province").distinct().count() >= 10
    _assert_spread_over_14_days_with_later_updates()
    _assert_reservations_match_allocated_orders()
    _assert_the_floor_at_work()
    _assert_a_working_day()


def _assert_a_working_day():
    """Held orders of each reason, two decided in the queue, transfer alerts, a breached alert."""
    open_holds = OrderHold.objects.filter(released_at__isnull=True, order__status="on_hold")
    assert set(open_holds.values_list("code", flat=True)) == {
        "brushing", "manual_review/pickup_point_review", "price_deviation", "presale_supply_late",
        "price_mismatch", "refund_requested",
    }  # fmt: skip
    decided = OrderHold.objects.filter(released_by__startswith="admin:admin")
    assert {h.released_by.split(" ", 1)[1] for h in decided} == {EDITED_MARK, CANCELLED_MARK}
    assert month_figures().avoided_value > 0
    assert TransferAlert.objects.filter(status="open", from_warehouse__isnull=False).exists()
    state = AlertState.objects.get(firing=True)
    assert state.rule.name == ALERT_RULE and state.value > state.rule.threshold
    assert AlertEvent.objects.filter(rule=state.rule, kind="firing").count() == 1
    assert HealthSample.objects.count() == 24 * 60 and HealthSample.objects.filter(ok=False).count() == 4


def _assert_the_floor_at_work():
    assert not StockLevel.objects.filter(physical__gt=0, location="").exists()
    assert re.fullmatch(r"[A-Z]-\d\d-\d\d", StockLevel.objects.exclude(location="").first().location)
    assert SkuBarcode.objects.count() >= 2
    statuses = set(Package.objects.values_list("status", flat=True))
    # every status a package reaches, shipped included (sandbox waybills, the outbound scan)
    assert statuses == set(PackageStatus)
    merged = Package.objects.annotate(n=Count("package_orders")).filter(n__gt=1)
    assert merged.count() >= 2
    for pkg in merged:  # one buyer, one address
        assert len({(o.buyer_ref, o.receiver_phone, o.receiver_address) for o in pkg.orders.all()}) == 1
    assert PackageTransition.objects.filter(reason__contains="人工拆单", from_status="").exists()
    assert Wave.objects.filter(status=Wave.Status.OPEN).exists()
    assert Wave.objects.filter(status=Wave.Status.CLAIMED).exists()
    stopped = Package.objects.get(stop_code=WEIGHT_STOP)
    assert stopped.status == PackageStatus.STOPPED and stopped.measured_weight_g
    assert f"{stopped.expected_weight_g} 克" in stopped.stop_reason
    assert f"{stopped.measured_weight_g} 克" in stopped.stop_reason
    # orders follow their packages; every package move is audited
    assert Order.objects.filter(status="packed").exists() and Order.objects.filter(status="picking").exists()
    assert PackageTransition.objects.filter(to_status=PackageStatus.PACKED).count() == (
        Package.objects.filter(status__in=(PackageStatus.PACKED, PackageStatus.SHIPPED)).count()
    )
    # out the door: sandbox waybills, shipped through the outbound scan, one signed for; the demo's
    # shops are not connected, so their confirmations wait visibly in 发货回传
    shipped = Package.objects.filter(status=PackageStatus.SHIPPED)
    assert shipped.exists() and all(p.waybills.get().waybill_no.startswith("ZS99") for p in shipped)
    assert (
        Order.objects.filter(status="shipped").exists() and Order.objects.filter(status="delivered").exists()
    )
    assert (
        ShipConfirmation.objects.filter(status__in=("pending", "failed")).count()
        == Order.objects.filter(status__in=("shipped", "delivered")).count()
    )


def _assert_spread_over_14_days_with_later_updates():
    now = timezone.now()
    placed = list(Order.objects.values_list("placed_at", flat=True))
    assert min(placed) >= now - timedelta(days=14) and max(placed) <= now
    assert len({p.date() for p in placed}) >= 10
    paid_later = OrderTransition.objects.filter(from_status="pending_payment", to_status="paid")
    cancelled_after_allocation = OrderTransition.objects.filter(
        from_status="allocated", to_status="cancelled"
    )
    assert paid_later.count() >= 5 and cancelled_after_allocation.count() >= 5


def _assert_reservations_match_allocated_orders():
    held = defaultdict(int)
    for line in OrderLine.objects.filter(order__status__in=RESERVING).select_related(
        "sku", "order__warehouse"
    ):
        held[(line.sku.code, line.order.warehouse.code)] += line.quantity
    reserved = {
        (s.sku.code, s.warehouse.code): s.reserved
        for s in StockLevel.objects.select_related("sku", "warehouse")
    }
    assert {k: v for k, v in reserved.items() if v} == dict(held)


def test_demo_loads_only_into_a_hub_without_orders(db):
    load_demo(orders=20)
    before = (Order.objects.count(), OutboxEvent.objects.count())

    assert load_demo() is None
    assert (Order.objects.count(), OutboxEvent.objects.count()) == before


def test_ensure_admin_creates_once_and_resets_only_when_asked(db):
    password = ensure_admin()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password) and password not in admin.password

    assert ensure_admin() is None
    admin.refresh_from_db()
    assert admin.check_password(password)

    new = ensure_admin(reset_password=True)
    admin.refresh_from_db()
    assert new != password and admin.check_password(new)


def test_demo_command_without_serving(db, client):
    runner = CliRunner()

    first = runner.invoke(app, ["demo", "--no-serve"])

    assert first.exit_code == 0, first.output
    password = re.search(r"admin login: admin / (\S+)", first.stdout).group(1)
    token = re.search(r"API token:\s+(zs_\S+)", first.stdout).group(1)
    assert get_user_model().objects.get(username="admin").check_password(password)
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["count"] == Order.objects.count() >= 300
    orders = Order.objects.count()

    again = runner.invoke(app, ["demo", "--no-serve"])

    assert again.exit_code == 0, again.output
    assert "nothing loaded" in again.stdout and "password unchanged" in again.stdout
    assert password not in again.stdout
    assert Order.objects.count() == orders
    assert get_user_model().objects.get(username="admin").check_password(password)
