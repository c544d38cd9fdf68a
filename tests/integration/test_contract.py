"""The order contract ships with the hub: served without a token, and its own example is an order the
API takes."""

import json

from django.contrib.auth import get_user_model

from tests.factories import CONTRACT, put_stock
from zhongshu.core.auth import create_token
from zhongshu.orders.models import Order


def test_contract_is_served_without_a_token(client, db):
    r = client.get("/api/v1/contract/order.schema.json")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/schema+json")
    served = json.loads(r.content)
    assert served == json.loads(CONTRACT.read_text(encoding="utf-8"))
    assert served["required"] == [
        "shop", "channel_order_id", "status", "created_at", "updated_at", "receiver", "lines", "paid_amount"
    ]  # fmt: skip


def test_the_contracts_example_is_accepted_as_it_stands(hub, client):
    get_user_model().objects.create_superuser("integrator", password="x")
    put_stock("DUMPLING-500G", "CD", 5)
    example = json.loads(client.get("/api/v1/contract/order.schema.json").content)["examples"][0]
    r = client.post(
        "/api/v1/orders", example, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {create_token('integrator')}",
    )  # fmt: skip
    assert r.status_code == 201, r.content
    order = Order.objects.get(channel_order_id=example["channel_order_id"])
    assert (order.status, order.warehouse.code, str(order.paid_amount)) == ("allocated", "CD", "64.80")
