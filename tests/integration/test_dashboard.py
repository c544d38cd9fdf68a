"""The admin home is the operations dashboard: orders posted through the API (as a 系统对接 user) show
up in its live fragment, and every figure equals what the database holds, counted here row by row
(not with the dashboard's GROUP BY queries). Every figure links to an admin list that opens."""

import json
import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.factories import example_order, put_stock
from zhongshu.channels.models import Shop, SyncState
from zhongshu.core import outbox
from zhongshu.core.auth import create_token
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import INTEGRATION, ensure_roles
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.demo import load_demo
from zhongshu.fulfilment.models import Package
from zhongshu.notify.models import AlertRule, AlertState
from zhongshu.orders.models import Order, OrderHold

FIGURE = re.compile(r'data-figure="([^"]+)"[^>]*>([^<]*)<')
LINK = re.compile(r'href="(/[^"]*)"')
LIVE = "/admin/dashboard/live/"


@pytest.fixture
def integration_token(hub):
    ensure_roles()
    user = get_user_model().objects.create_user("erp", password="x")
    user.groups.add(Group.objects.get(name=INTEGRATION))
    return create_token("erp")


@pytest.fixture
def staff_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    return client


def post(client, token: str, n: int, prefix: str, at: datetime, **changes) -> None:
    for i in range(n):
        body = example_order(channel_order_id=f"{prefix}{i}", created_at=at.isoformat(), paid_at=at.isoformat(),
                             updated_at=at.isoformat(), **changes)  # fmt: skip
        r = client.post(
            "/api/v1/orders", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert r.status_code == 201, r.content


def figures(client) -> tuple[dict[str, str], list[int], str]:
    r = client.get(LIVE)
    assert r.status_code == 200
    html = r.content.decode()
    found = {k: unescape(v).strip() for k, v in FIGURE.findall(html)}
    hourly = json.loads(re.search(r'id="hourly-data">(.*?)</script>', html).group(1))["counts"]
    return found, hourly, html


def expected(now: datetime) -> dict[str, str]:
    """The figures, counted one filter at a time."""
    start = datetime.combine(now.astimezone(SHANGHAI).date(), time.min, SHANGHAI)
    today = Order.objects.filter(placed_at__gte=start, placed_at__lt=start + timedelta(days=1))
    want = {
        "kpi.orders_today": str(today.count()),
        "kpi.amount_today": str(sum((o.paid_amount for o in today), Decimal("0.00"))),
        "kpi.unshipped": str(
            Order.objects.filter(
                status__in=["paid", "on_hold", "allocated", "backordered", "picking", "packed"],
                paid_at__isnull=False,
            ).count()
        ),
        "kpi.shipped_today": str(Package.objects.filter(shipped_at__gte=start).count()),
        "kpi.alerts": str(AlertState.objects.filter(firing=True, rule__active=True).count()),
        "backlog.packages_pending": str(Package.objects.filter(status="pending").count()),
        "backlog.ship_failed": str(
            OutboxEvent.objects.filter(
                topic="channel.shipment_failed", created_at__gte=now - timedelta(hours=24)
            ).count()
        ),
    }
    for status in ("paid", "backordered", "on_hold", "allocated", "picking", "packed"):
        want[f"backlog.{status}"] = str(Order.objects.filter(status=status).count())
    for platform in set(today.values_list("shop__platform", flat=True)):
        mine = today.filter(shop__platform=platform)
        want[f"channel.{platform}.orders"] = str(mine.count())
        want[f"channel.{platform}.amount"] = str(sum((o.paid_amount for o in mine), Decimal("0.00")))
    for province in set(today.values_list("receiver_province", flat=True)):
        want[f"province.{province}"] = str(today.filter(receiver_province=province).count())
    for code in set(OrderHold.objects.values_list("code", flat=True)):
        holds = OrderHold.objects.filter(code=code)
        want[f"hold.{code}.today"] = str(holds.filter(created_at__gte=start).count())
        want[f"hold.{code}.week"] = str(holds.filter(created_at__gte=start - timedelta(days=6)).count())
    return want


def check(client, now: datetime) -> dict[str, str]:
    found, hourly, html = figures(client)
    for key, value in expected(now).items():
        assert found.get(key) == value, (key, found.get(key), value)
    hour = now.astimezone(SHANGHAI).hour
    start = datetime.combine(now.astimezone(SHANGHAI).date(), time(hour), SHANGHAI)
    assert (
        hourly[hour]
        == Order.objects.filter(placed_at__gte=start, placed_at__lt=start + timedelta(hours=1)).count()
    )
    return found


def test_dashboard_figures_match_the_database(integration_token, staff_client):
    client, token = staff_client, integration_token
    now = timezone.now()
    put_stock("DUMPLING-500G", "CD", 5)  # two orders of 2 allocate, the rest is backordered
    tb = Shop.objects.get(code="tb")
    SyncState.objects.create(
        shop=tb, cursor=now - timedelta(minutes=30), last_success_at=now - timedelta(minutes=30)
    )

    # Given an empty day, the dashboard shows zeros
    found = check(client, now)
    assert found["kpi.orders_today"] == "0" and found["backlog.backordered"] == "0"

    # when orders come in through the API: today on two channels and provinces, one a week ago, one held
    post(client, token, 3, "MP", now - timedelta(minutes=1))
    post(client, token, 2, "TB", now - timedelta(minutes=1), shop="tb",
         receiver={**example_order()["receiver"], "province": "广东省"})  # fmt: skip
    post(client, token, 1, "OLD", now - timedelta(days=8))
    post(client, token, 1, "HELD", now - timedelta(minutes=1), paid_amount="1.00")  # amounts disagree: held
    outbox.write([outbox.event("channel.shipment_failed", key="order:1", payload={"error": "x"}, actor="t")])
    rule = AlertRule.objects.create(name="积压", metric="pending_orders", threshold=Decimal(1))
    AlertState.objects.create(rule=rule, firing=True, value=Decimal(7), since=now)

    # then every figure equals the database
    found = check(client, now)
    assert found["kpi.orders_today"] == "6"
    assert found["channel.taobao.orders"] == "2" and found["channel.own.orders"] == "4"
    assert found["province.广东省"] == "2"
    assert int(found["backlog.backordered"]) >= 1 and found["backlog.ship_failed"] == "1"
    assert found["backlog.on_hold"] == "1" and found["kpi.alerts"] == "1"
    assert found["sync.tb"] == "已熔断"  # 30 minutes behind: past the breaker's 15
    assert OrderHold.objects.count() == 1

    # when more orders are posted, the fragment follows
    post(client, token, 2, "MORE", now)
    assert check(client, now)["kpi.orders_today"] == "8"


def test_every_figure_links_to_a_list_that_opens(integration_token, staff_client):
    client = staff_client
    put_stock("DUMPLING-500G", "CD", 5)
    post(client, integration_token, 2, "MP", timezone.now())
    post(client, integration_token, 1, "HELD", timezone.now(), paid_amount="1.00")
    _, _, html = figures(client)
    links = set(LINK.findall(unescape(html)))
    assert any("shop__platform__exact=own" in u for u in links)
    assert any("status__exact=backordered" in u for u in links)
    for url in links:
        r = client.get(url)
        assert r.status_code == 200, url  # an admin list with a lookup it refuses answers 302 (?e=1)


def test_the_home_page_is_the_live_dashboard(staff_client):
    r = staff_client.get("/admin/")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'hx-get="/admin/dashboard/live/"' in html and 'hx-trigger="every 5s"' in html
    assert 'data-figure="kpi.orders_today"' in html
    assert "unfold/js/chart/chart.js" in html and "unfold/js/htmx/htmx.js" in html  # no CDN


def test_the_live_figures_are_for_staff_only(client, db):
    assert client.get(LIVE).status_code == 302
    client.force_login(get_user_model().objects.create_user("clerk", password="x"))
    assert client.get(LIVE).status_code == 302


def test_on_the_demo_data_the_home_page_shows_the_database(staff_client):
    """What a first visit after ./scripts/demo sees: real figures, equal to the database's."""
    load_demo()
    found = check(staff_client, timezone.now())
    assert int(found["backlog.allocated"]) > 0 and int(found["backlog.backordered"]) > 0
    html = staff_client.get("/admin/").content.decode()
    assert f'data-figure="backlog.allocated">{found["backlog.allocated"]}<' in html
