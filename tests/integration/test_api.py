"""The HTTP API as scripts use it: paths, status codes, fields, bearer auth, 422 naming the field."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tests.factories import example_order, put_stock
from zhongshu.core.auth import create_token
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import INTEGRATION, ensure_roles
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order


@pytest.fixture
def api(hub, client):
    """The token of a system that sends orders, SKUs and stocktakes (the integration role)."""
    ensure_roles()
    get_user_model().objects.create_user("erp", password="x").groups.add(Group.objects.get(name=INTEGRATION))
    token = create_token("erp")

    class Api:
        def get(self, path, **kw):
            return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", **kw)

        def post(self, path, body):
            return client.post(
                path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )

        def put(self, path, body):
            return client.put(
                path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )

    return Api()


def db_state():
    return (
        Order.objects.count(),
        OutboxEvent.objects.count(),
        list(StockLevel.objects.values_list("reserved", flat=True)),
    )


def test_health_needs_no_token(client, db):
    r = client.get("/api/v1/health")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_everything_else_needs_a_valid_bearer_token(hub, client):
    assert client.get("/api/v1/orders").status_code == 401
    assert client.get("/api/v1/orders", HTTP_AUTHORIZATION="Bearer zs_wrong").status_code == 401
    assert client.post("/api/v1/orders", example_order(), content_type="application/json").status_code == 401
    assert Order.objects.count() == 0


def test_post_example_order_created_then_unchanged_then_cancelled(api):
    put_stock("DUMPLING-500G", "CD", 10)
    r = api.post("/api/v1/orders", example_order())
    assert r.status_code == 201
    body = r.json()
    assert {k: body[k] for k in ("shop", "channel_order_id", "status", "warehouse", "holds")} == {
        "shop": "mp", "channel_order_id": "MP202611270001", "status": "allocated", "warehouse": "CD", "holds": []}  # fmt: skip
    assert isinstance(body["id"], int)

    before = db_state()
    r = api.post("/api/v1/orders", example_order())
    assert (r.status_code, r.json()["status"]) == (200, "allocated")
    assert db_state() == before

    r = api.post("/api/v1/orders", example_order(status="cancelled", updated_at="2026-11-27T21:00:00+08:00"))
    assert (r.status_code, r.json()["status"], r.json()["warehouse"]) == (200, "cancelled", "CD")
    assert api.get("/api/v1/stock/DUMPLING-500G").json()["total"]["reserved"] == 0


def test_order_detail_has_lines_and_history_and_masks_receiver(api):
    put_stock("DUMPLING-500G", "CD", 10)
    api.post("/api/v1/orders", example_order())
    r = api.get("/api/v1/orders/mp/MP202611270001")
    assert r.status_code == 200
    d = r.json()
    assert d["lines"] == [{"sku": "DUMPLING-500G", "title": "手工水饺 500g", "quantity": 2, "unit_price": "39.90",
                           "promo_price": "34.90", "paid_amount": "69.80"}]  # fmt: skip
    assert [(h["from"], h["to"]) for h in d["history"]] == [(None, "paid"), ("paid", "allocated")]
    assert d["receiver"]["phone"] == "138****8000"
    assert "13800138000" not in r.content.decode()
    assert api.get("/api/v1/orders/mp/NOPE").status_code == 404


def test_list_orders_filters_and_pages(api):
    put_stock("DUMPLING-500G", "CD", 3)
    for n in range(4):
        api.post("/api/v1/orders", example_order(channel_order_id=f"L{n}"))
    all_ = api.get("/api/v1/orders").json()
    assert all_["count"] == 4
    assert {o["status"] for o in api.get("/api/v1/orders?status=backordered").json()["items"]} == {
        "backordered"
    }
    assert api.get("/api/v1/orders?status=backordered").json()["count"] == 3
    assert api.get("/api/v1/orders?warehouse=CD").json()["count"] == 1
    assert api.get("/api/v1/orders?shop=tb").json()["count"] == 0
    assert api.get("/api/v1/orders?status=bogus").status_code == 422


def test_stock_endpoint_reports_available_86(api):
    put_stock("DUMPLING-500G", "CD", 0)
    r = api.put(
        "/api/v1/stock/DUMPLING-500G/CD", {"physical": 100, "in_transit": 20, "in_transit_coefficient": "0.8"}
    )
    assert r.status_code == 200
    line = {"sku": "DUMPLING-500G", "quantity": 10, "unit_price": "10.00", "paid_amount": "100.00"}
    for n in range(3):  # 30 units reserved by orders
        api.post("/api/v1/orders", example_order(channel_order_id=f"R{n}", lines=[line], discount="0.00",
                                                 paid_amount="100.00"))  # fmt: skip
    s = api.get("/api/v1/stock/DUMPLING-500G").json()
    cd = next(w for w in s["warehouses"] if w["warehouse"] == "CD")
    assert (cd["physical"], cd["reserved"], cd["in_transit"], cd["available"]) == (100, 30, 20, 86)
    assert s["total"]["available"] == 86
    assert OutboxEvent.objects.filter(topic="stock.changed", payload__reason="stocktake").exists()


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda o: o.pop("receiver"), "receiver"),
        (lambda o: o["lines"][0].update(quantity=-1), "lines[0].quantity"),
        (lambda o: o["lines"][0].update(sku="NO-SUCH-SKU"), "lines[0].sku"),
        (lambda o: o.update(shop="nope"), "shop"),
        (lambda o: o.update(paid_amount=64.8), "paid_amount"),
        (lambda o: o.update(updated_at="2026-11-27T20:16:00"), "updated_at"),
        (lambda o: o.update(extra_field=1), "extra_field"),
    ],
)
def test_broken_order_gets_422_naming_the_field_and_writes_nothing(api, mutate, field):
    put_stock("DUMPLING-500G", "CD", 10)
    before = db_state()
    order = example_order()
    mutate(order)
    r = api.post("/api/v1/orders", order)
    assert r.status_code == 422, r.content
    assert field in [d["field"] for d in r.json()["detail"]], r.json()
    assert db_state() == before


def test_sku_upsert_and_stocktake_errors(api):
    body = {"sku": "ZONGZI-2", "title": "粽子", "cost_price": "12.50", "weight_g": 400, "presale": True}
    assert api.post("/api/v1/skus", body).status_code == 201
    r = api.post("/api/v1/skus", {**body, "title": "鲜肉粽子"})
    assert (r.status_code, r.json()["title"], r.json()["cost_price"]) == (200, "鲜肉粽子", "12.50")
    assert api.post("/api/v1/skus", {**body, "cost_price": "-1"}).status_code == 422
    assert api.put("/api/v1/stock/NOPE/CD", {"physical": 1}).status_code == 404
    assert api.put("/api/v1/stock/ZONGZI-2/XX", {"physical": 1}).status_code == 404
    r = api.put("/api/v1/stock/ZONGZI-2/CD", {"physical": -1})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "physical"
    assert api.get("/api/v1/stock/NOPE").status_code == 404


def test_openapi_docs_served(client, db):
    assert client.get("/api/docs").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/orders" in spec["paths"] and "/api/v1/stock/{sku}/{warehouse}" in spec["paths"]


@pytest.fixture
def root(hub, client):
    """A superuser's token: every call allowed."""
    get_user_model().objects.create_superuser("root", password="x")
    return {"HTTP_AUTHORIZATION": f"Bearer {create_token('root')}"}


RULE = {"name": "大额", "rule_set": "review", "actions": [{"type": "manual_review", "reason": "大额"}],
        "condition": {"all": [{"fact": "order.paid_amount", "op": ">=", "value": "2000"}]}}  # fmt: skip


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("get", "/api/v1/orders/mp/A%00B", None, "channel_order_id"),
        ("get", "/api/v1/orders?shop=m%00p", None, "shop"),
        ("get", "/api/v1/stock/DUMPLING%00", None, "sku"),
        ("put", "/api/v1/stock/DUMPLING-500G/C%00D", {"physical": 1}, "warehouse"),
        ("post", "/api/v1/skus", {"sku": "ZONGZI\x00", "title": "粽子", "cost_price": "1.00"}, "sku"),
        ("post", "/api/v1/skus", {"sku": "ZONGZI", "title": "粽\x00子", "cost_price": "1.00"}, "title"),
        ("get", "/api/v1/rules?stage=re%00view", None, "stage"),
        ("get", "/api/v1/rules/brush%00ing", None, "code"),
        ("put", "/api/v1/rules/big%00", RULE, "code"),
        ("put", "/api/v1/rules/big", {**RULE, "name": "大\x00额"}, "name"),
        (
            "put",
            "/api/v1/rules/big",
            {**RULE, "actions": [{"type": "manual_review", "reason": "\x00"}]},
            "actions[0].reason",
        ),  # fmt: skip
        (
            "put",
            "/api/v1/rules/big",
            {**RULE, "condition": {"all": [{"fact": "order.remark", "op": "contains", "value": "\x1b"}]}},
            "condition.all[0].value",
        ),  # fmt: skip
        ("post", "/api/v1/push/m%00p", {}, "shop"),
    ],
)
def test_control_characters_in_a_path_query_or_body_get_422_naming_the_field(client, root, method, path, body,
                                                                              field):  # fmt: skip
    """PostgreSQL refuses a NUL byte with an error (a 500 before); SQLite stored or looked it up."""
    before = db_state()
    kw = {"content_type": "application/json"} if body is not None else {}
    r = getattr(client, method)(path, body, **kw, **root)
    assert r.status_code == 422, r.content
    assert field in [d["field"] for d in r.json()["detail"]], r.json()
    assert db_state() == before


def test_openapi_declares_the_errors_and_examples_it_answers(client, root):
    """Every authenticated call declares 401 and 403, every JSON body 400, 413 and 422 with their bodies;
    every body has an example, and each example is accepted as it stands (the docs show working calls)."""
    spec = client.get("/api/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            if op.get("security"):
                assert {"401", "403"} <= codes, (method, path, codes)
            if "requestBody" in op:
                assert {"400", "413", "422"} <= codes, (method, path, codes)
                body = op["requestBody"]["content"]["application/json"]
                assert "example" in body, (method, path)
                url = (
                    path.replace("{sku}", "DUMPLING-500G")
                    .replace("{warehouse}", "CD")
                    .replace("{code}", "big")
                    .replace("{package_id}", "999999")
                    .replace("{wave_id}", "999999")
                    .replace("{webhook_id}", "999999")
                )
                r = getattr(client, method)(url, body["example"], content_type="application/json", **root)
                if "{package_id}" in path or "{wave_id}" in path or "{webhook_id}" in path:
                    # no package or wave in this hub: the body passed validation, then the id was looked up
                    assert r.status_code == 404, (method, path, r.content)
                elif path == "/api/v1/ship":
                    # the example's waybill number passed validation, then it was looked up
                    assert r.status_code == 404, (method, path, r.content)
                elif path == "/api/v1/waves":
                    assert (r.status_code, r.json()["code"]) == (409, "no_package_ready"), r.content
                else:
                    assert r.status_code in (200, 201), (method, path, r.content)
            for code in codes - {"200", "201", "204"}:  # 204: no body by definition
                [media] = op["responses"][code]["content"].values()
                assert "detail" in str(media["schema"]) or "$ref" in media["schema"], (method, path, code)
    money = spec["components"]["schemas"]["LineIn"]["properties"]["unit_price"]
    assert money["type"] == "string" and money["pattern"], money  # not "a number or a string"
