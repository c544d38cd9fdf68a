"""POST /api/v1/orders/batch: up to 500 orders in one call, one result per order in input order,
the same validation and per-order errors naming the field as POST /orders, the same permission."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import example_order, put_stock
from zhongshu.core.auth import create_token
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order

URL = "/api/v1/orders/batch"


@pytest.fixture
def token(hub):
    get_user_model().objects.create_superuser("ops", password="x")
    put_stock("DUMPLING-500G", "CD", 1000)
    return create_token("ops")


def post(client, token, orders):
    return client.post(URL, {"orders": orders}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip


def order(n: int, **changes) -> dict:
    return example_order(channel_order_id=f"MP{n:06d}", **changes)


def test_every_order_gets_its_result_in_input_order(client, token):
    r = post(client, token, [order(n) for n in range(5)])
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (5, 0, 0, 0)
    assert [x["index"] for x in body["results"]] == [0, 1, 2, 3, 4]
    assert [x["channel_order_id"] for x in body["results"]] == [f"MP{n:06d}" for n in range(5)]
    assert {x["status"] for x in body["results"]} == {201}
    assert {x["order"]["status"] for x in body["results"]} == {"allocated"}
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 10
    again = post(client, token, [order(0), order(1, updated_at="2026-11-27T21:00:00+08:00")]).json()
    assert [(x["status"], x["order"]["id"]) for x in again["results"]] == [
        (200, Order.objects.get(channel_order_id="MP000000").pk),
        (200, Order.objects.get(channel_order_id="MP000001").pk),
    ]
    assert (again["unchanged"], again["updated"]) == (1, 1)


def test_invalid_orders_are_named_by_field_and_the_others_taken_in(client, token):
    bad_qty = order(1)
    bad_qty["lines"][0]["quantity"] = 0
    unknown = order(3)
    unknown["lines"][0]["sku"] = "NOPE"
    no_receiver = order(4)
    del no_receiver["receiver"]
    r = post(client, token, [order(0), bad_qty, order(2), unknown, no_receiver, order(5, shop="nope")])
    assert r.status_code == 200
    body = r.json()
    assert [x["status"] for x in body["results"]] == [201, 422, 201, 422, 422, 422]
    assert (body["created"], body["rejected"]) == (2, 4)
    res = body["results"]
    assert res[1]["channel_order_id"] == "MP000001"
    assert [e["field"] for e in res[1]["errors"]] == ["lines[0].quantity"]
    assert [(e["field"], e["msg"]) for e in res[3]["errors"]] == [("lines[0].sku", "unknown SKU 'NOPE'")]
    assert [e["field"] for e in res[4]["errors"]] == ["receiver"]
    assert [e["field"] for e in res[5]["errors"]] == ["shop"]
    assert sorted(Order.objects.values_list("channel_order_id", flat=True)) == ["MP000000", "MP000002"]


def test_a_batch_over_500_or_empty_is_refused_whole(client, token):
    r = post(client, token, [order(n) for n in range(501)])
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "orders"
    assert post(client, token, []).status_code == 422
    assert not Order.objects.exists()


def test_500_orders_in_one_call(client, token):
    body = post(client, token, [order(n) for n in range(500)]).json()
    assert body["created"] == 500 and len(body["results"]) == 500
    assert Order.objects.count() == 500


def test_the_same_permission_as_post_orders(client, hub):
    get_user_model().objects.create_user("viewer", password="x")
    viewer = create_token("viewer")
    assert post(client, viewer, [order(1)]).status_code == 403
    read_only = create_token("viewer", scope="read")
    assert post(client, read_only, [order(1)]).status_code == 403
    assert client.post(URL, {"orders": [order(1)]}, content_type="application/json").status_code == 401
    assert not Order.objects.exists()
