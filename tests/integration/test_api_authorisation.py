"""Who may call what: every API operation checks the token's user's permissions, narrowed by the token's
scope (full, read, intake); otherwise 403 with a JSON body naming the permission, before the body is
read, and nothing is written. The matrix below is the README's table "Who may call what"."""

import pytest
from django.contrib.auth.models import Group, User

from tests.factories import example_order, put_stock
from zhongshu.api import api
from zhongshu.core.auth import BearerAuth, create_token
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import FINANCE, INTEGRATION, MANAGEMENT, OPERATIONS, WAREHOUSE, ensure_roles
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

V1 = "/api/v1"
# name → (method, path, JSON body or None)
CALLS = {
    "post order": ("post", "/orders", example_order()),
    "list orders": ("get", "/orders", None),
    "get order": ("get", "/orders/mp/MP202611270001", None),
    "upsert sku": ("post", "/skus", {"sku": "ZONGZI-2", "title": "粽子", "cost_price": "12.50"}),
    "stocktake": ("put", "/stock/DUMPLING-500G/CD", {"physical": 20}),
    "get stock": ("get", "/stock/DUMPLING-500G", None),
    "list rules": ("get", "/rules", None),
    "rule facts": ("get", "/rules/facts", None),
    "get peak mode": ("get", "/rules/peak-mode", None),
    "get rule": ("get", "/rules/brushing", None),
    "rule versions": ("get", "/rules/brushing/versions", None),
    "backtest": ("post", "/rules/brushing/backtest", {"days": 30}),
    "change rule": ("put", "/rules/brushing", {"priority": 11}),
    "rollback rule": ("post", "/rules/brushing/rollback/1", None),
    "set peak mode": ("put", "/rules/peak-mode", {"peak_mode": True}),
}
READ_ORDERS = {"list orders", "get order"}
READ_RULES = {"list rules", "rule facts", "get peak mode", "get rule", "rule versions", "backtest"}
CHANGE_RULES = {"change rule", "rollback rule", "set peak mode"}
READ_ALL = READ_ORDERS | READ_RULES | {"get stock"}

ALLOWED = {
    "no group": set(),
    FINANCE: READ_ORDERS,
    OPERATIONS: READ_ORDERS | {"get stock"} | READ_RULES | CHANGE_RULES,
    WAREHOUSE: READ_ORDERS | {"get stock", "stocktake"},
    INTEGRATION: READ_ORDERS | {"post order", "upsert sku", "stocktake", "get stock"},
    MANAGEMENT: READ_ALL,
    "superuser": set(CALLS),
    "superuser, scope read": READ_ALL,
    "superuser, scope intake": {"post order"},
}


@pytest.fixture
def hub_with_order(hub):
    ensure_roles()
    put_stock("DUMPLING-500G", "CD", 10)
    intake([OrderIn.model_validate(example_order())], actor="test")


def token_of(subject: str) -> str:
    role, _, scope = subject.partition(", scope ")
    if role == "superuser":
        User.objects.create_superuser("root", password="x")
        return create_token("root", scope=scope or "full")
    user = User.objects.create_user("someone", password="x")
    if role != "no group":
        user.groups.add(Group.objects.get(name=role))
    return create_token("someone")


def call(client, token: str, name: str):
    method, path, body = CALLS[name]
    kw = {"content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(V1 + path, body, HTTP_AUTHORIZATION=f"Bearer {token}", **kw)


def written() -> tuple:
    return Order.objects.count(), OutboxEvent.objects.count()


@pytest.mark.parametrize("subject", ALLOWED)
def test_each_role_and_scope_may_call_what_the_readme_says(client, hub_with_order, subject):
    token = token_of(subject)
    outcome = {}
    for name in CALLS:
        r = call(client, token, name)
        assert r.status_code in (200, 201, 403), (name, r.status_code, r.content)
        if r.status_code == 403:
            assert r["Content-Type"].startswith("application/json"), name
            assert "permission" in r.json()["detail"] or "scope" in r.json()["detail"], r.json()
        outcome[name] = r.status_code != 403
    assert {n for n, ok in outcome.items() if ok} == ALLOWED[subject]


def test_a_user_in_no_group_is_refused_everything_and_nothing_is_written(client, hub_with_order):
    token = token_of("no group")
    before = written()
    for name in CALLS:
        r = call(client, token, name)
        assert r.status_code == 403, name
    assert call(client, token, "post order").json() == {
        "detail": "this call needs the permission orders.add_order"
    }
    assert written() == before


def test_the_scope_is_named_when_it_is_what_refuses(client, hub_with_order):
    r = call(client, token_of("superuser, scope read"), "post order")
    assert (r.status_code, r.json()) == (
        403, {"detail": "the token's scope 'read' does not allow this call (it needs orders.add_order)"})  # fmt: skip


def test_permission_is_checked_before_the_body(client, hub_with_order):
    """A caller without the permission learns nothing from validation: 403, not 422 or 400."""
    token = token_of(FINANCE)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    r = client.post(f"{V1}/orders", {"shop": "mp"}, content_type="application/json", **auth)
    assert r.status_code == 403
    r = client.post(f"{V1}/orders", b"{not json", content_type="application/json", **auth)
    assert r.status_code == 403


def test_every_operation_but_health_contract_and_push_names_its_permissions():
    unguarded = []
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for op in view.operations:
                auth = op.auth_callbacks
                guarded = len(auth) == 1 and isinstance(auth[0], BearerAuth) and auth[0].permissions
                if not guarded:
                    unguarded.append(f"{'/'.join(op.methods)} {prefix}{path}")
    assert sorted(unguarded) == [
        "GET /v1/contract/order.schema.json", "GET /v1/health", "POST /v1/push/{shop}",
        "POST /v1/tracking/kuaidi100",  # signed by Kuaidi100 (MD5 of param + salt), no token
    ]  # fmt: skip


def test_a_token_is_cached_per_process_and_a_change_is_seen_at_once(hub, client, django_assert_num_queries):
    """The token and its user's permissions are read once per TOKEN_CACHE_S (core/auth.py); revoking
    the token, or taking the user out of the group that granted the permission, counts at once in the
    process that did it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from zhongshu.core.auth import revoke_tokens
    from zhongshu.core.models import ApiToken

    ensure_roles()
    user = User.objects.create_user("integrator")
    user.groups.add(Group.objects.get(name=INTEGRATION))
    token = create_token("integrator")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"{V1}/orders", **auth).status_code == 200
    with CaptureQueriesContext(connection) as q:
        assert client.get(f"{V1}/orders", **auth).status_code == 200
    assert not [x for x in q.captured_queries if "core_apitoken" in x["sql"] or "auth_permission" in x["sql"]]
    assert ApiToken.objects.get().last_used_at is not None  # the first call stamped it

    user.groups.clear()
    assert client.get(f"{V1}/orders", **auth).status_code == 403
    user.groups.add(Group.objects.get(name=INTEGRATION))
    assert client.get(f"{V1}/orders", **auth).status_code == 200
    revoke_tokens([ApiToken.objects.get().pk], actor="test")
    assert client.get(f"{V1}/orders", **auth).status_code == 401
