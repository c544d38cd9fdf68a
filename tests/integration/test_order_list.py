"""GET /api/v1/orders pages in the database: one page of rows is read, not every matching order."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import example_order, put_stock
from zhongshu.core.auth import create_token
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake


@pytest.fixture
def listed(hub, client):
    get_user_model().objects.create_superuser("ops", password="x")
    token = create_token("ops")
    put_stock("DUMPLING-500G", "CD", 60)
    orders = [example_order(channel_order_id=f"P{n:03d}") for n in range(120)]  # 30 allocated, 90 backordered
    intake([OrderIn.model_validate(o) for o in orders], actor="test")

    def get(query: str = ""):
        with CaptureQueriesContext(connection) as queries:
            r = client.get(f"/api/v1/orders{query}", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert r.status_code == 200, r.content
        return r.json(), [q["sql"] for q in queries.captured_queries]

    return get


def test_pages_newest_first_with_the_count(listed):
    newest = list(Order.objects.order_by("-id").values_list("channel_order_id", flat=True))
    first, _ = listed()
    third, _ = listed("?page=3")
    assert first["count"] == third["count"] == 120
    assert [o["channel_order_id"] for o in first["items"]] == newest[:50]
    assert [o["channel_order_id"] for o in third["items"]] == newest[100:]
    assert set(first["items"][0]) == {"id", "shop", "channel_order_id", "status", "channel_status", "warehouse",
                                      "holds", "flags", "paid_amount", "placed_at"}  # fmt: skip


def test_a_page_reads_only_its_rows_from_the_database(listed):
    body, sql = listed("?page=2&status=backordered")
    assert body["count"] == 90 and len(body["items"]) == 40
    assert {o["status"] for o in body["items"]} == {"backordered"}
    reads = [q for q in sql if 'FROM "orders_order"' in q and "COUNT(" not in q]
    assert any("LIMIT 50 OFFSET 50" in q for q in reads), reads
    assert all("LIMIT 50 OFFSET 50" in q or '"orders_order"."id" IN (' in q for q in reads), reads
    assert any("COUNT(" in q for q in sql)
    assert len(sql) <= 8, sql  # token, count, page, its holds — not one query per order
