from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate
from pydantic import Field
from pydantic import ValidationError as PydanticError

from zhongshu.core.auth import requires
from zhongshu.core.params import Code
from zhongshu.core.responses import errors, example
from zhongshu.orders import selectors
from zhongshu.orders.schemas import OrderIn, error_list
from zhongshu.orders.services import CREATED, check_references, intake
from zhongshu.orders.states import OrderStatus

router = Router(tags=["orders"])

# The contract's example order, shown in the docs and tried first by generated clients and fuzzers.
ORDER_EXAMPLE = {
    "shop": "mp",
    "channel_order_id": "MP202611270001",
    "status": "paid",
    "created_at": "2026-11-27T20:15:03+08:00",
    "paid_at": "2026-11-27T20:16:00+08:00",
    "updated_at": "2026-11-27T20:16:00+08:00",
    "buyer": {"id": "u889", "nick": "小王", "vip": False},
    "receiver": {"name": "王小明", "phone": "13800138000", "province": "四川省", "city": "成都市",
                 "district": "武侯区", "address": "天府大道北段1700号"},
    "lines": [{"sku": "DUMPLING-500G", "title": "手工水饺 500g", "quantity": 2, "unit_price": "39.90",
               "promo_price": "34.90", "paid_amount": "69.80"}],
    "freight": "0.00",
    "discount": "5.00",
    "paid_amount": "64.80",
    "presale": False,
}  # fmt: skip


class HoldOut(Schema):
    code: str
    reason: str


class OrderOut(Schema):
    id: int
    shop: str
    channel_order_id: str
    status: str
    channel_status: str
    warehouse: str | None
    holds: list[HoldOut]
    flags: list[str]
    paid_amount: Decimal
    placed_at: datetime


class LineOut(Schema):
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    promo_price: Decimal | None
    paid_amount: Decimal


class ReceiverOut(Schema):
    name: str
    phone: str
    province: str
    city: str
    district: str
    address: str


class PackageRef(Schema):
    id: str
    status: str
    warehouse: str
    carrier: str | None
    waybill_no: str | None


class TrackingStep(Schema):
    at: datetime
    place: str
    text: str
    waybill_no: str


class OrderDetailOut(OrderOut):
    receiver: ReceiverOut
    lines: list[LineOut]
    history: list[dict]
    packages: list[PackageRef]
    tracking: list[TrackingStep]


class OrderFilter(Schema):
    status: OrderStatus | None = None
    shop: Code | None = None
    warehouse: Code | None = None


@router.post(
    "/orders",
    auth=requires("orders.add_order"),
    response={200: OrderOut, 201: OrderOut, **errors(400, 401, 403, 413, 422, 503)},
    summary="Create or update an order (the contract)",
    description="201 when the order is new, 200 when it was updated or unchanged (idempotent by shop, "
    "channel order id and `updated_at`). 422 names each invalid field and the unknown shop or SKUs; "
    "nothing is written. 503 + `Retry-After`: the server is busy (nothing written); send it again then.",
    openapi_extra=example(ORDER_EXAMPLE),
)
def post_order(request, payload: OrderIn):
    [result] = intake(
        [payload], actor=f"api:{request.user.username}"
    )  # ReferenceErrors → 422 (see zhongshu.api)
    body = selectors.summary(result.order, holds=result.holds)
    return Status(201 if result.outcome == CREATED else 200, body)


BATCH_MAX = 500


class OrderBatchIn(Schema):
    orders: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=BATCH_MAX)]


class FieldError(Schema):
    loc: list[str | int]
    field: str
    msg: str


class BatchResult(Schema):
    index: int
    status: int
    channel_order_id: str | None
    order: OrderOut | None = None
    errors: list[FieldError] = []


class OrderBatchOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: int
    results: list[BatchResult]


@router.post(
    "/orders/batch",
    auth=requires("orders.add_order"),
    response={200: OrderBatchOut, **errors(400, 401, 403, 413, 422, 503)},
    summary="Create or update up to 500 orders in one call",
    description="Each order as POST /orders would take it, in one transaction. `results` has one entry "
    "per order in input order: `status` 201 (new), 200 (updated or unchanged) or 422 with `errors` "
    "naming each invalid field or unknown shop/SKU of that order (the others are still taken in). "
    "422 for the whole call only when `orders` is missing, empty or longer than 500. 503 + `Retry-After` "
    "when the server is busy: the whole call is refused and nothing of it written (one transaction); send "
    "it again then.",
    openapi_extra=example({"orders": [ORDER_EXAMPLE]}),
)
def post_orders_batch(request, payload: OrderBatchIn):
    results: list[dict | None] = [None] * len(payload.orders)
    valid: list[tuple[int, OrderIn]] = []
    for i, raw in enumerate(payload.orders):
        try:
            valid.append((i, OrderIn.model_validate(raw)))
        except PydanticError as exc:
            results[i] = _rejected(i, raw, error_list(exc))
    bad = check_references([p for _, p in valid])
    for n in sorted(bad, reverse=True):
        i, p = valid.pop(n)
        results[i] = _rejected(i, p.model_dump(), bad[n])
    taken = intake([p for _, p in valid], actor=f"api:{request.user.username}") if valid else []
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for (i, p), r in zip(valid, taken, strict=True):
        counts[r.outcome] += 1
        results[i] = {"index": i, "status": 201 if r.outcome == CREATED else 200,
                      "channel_order_id": p.channel_order_id, "order": selectors.summary(r.order, holds=r.holds)}  # fmt: skip
    return {**counts, "rejected": len(payload.orders) - len(valid), "results": results}


def _rejected(i: int, raw: dict, errs: list[dict]) -> dict:
    cid = raw.get("channel_order_id") if isinstance(raw, dict) else None
    return {"index": i, "status": 422, "channel_order_id": cid if isinstance(cid, str) else None,
            "errors": [{"loc": e["loc"], "field": e["field"], "msg": e["msg"]} for e in errs]}  # fmt: skip


@router.get(
    "/orders/{shop}/{channel_order_id}",
    auth=requires("orders.view_order"),
    response={200: OrderDetailOut, **errors(401, 403, 404, 422)},
    summary="One order with lines and history (receiver masked)",
)
def get_order(request, shop: Code, channel_order_id: Code):
    order = selectors.order_detail(shop, channel_order_id)
    if order is None:
        raise HttpError(404, f"no order '{channel_order_id}' in shop '{shop}'")
    return selectors.detail(order)


@router.get(
    "/orders",
    auth=requires("orders.view_order"),
    response={200: list[OrderOut], **errors(401, 403, 422)},
    summary="Orders, newest first, filtered and paged",
)
@paginate(PageNumberPagination, page_size=50)
def list_orders(request, filters: Query[OrderFilter]):
    return selectors.Summaries(selectors.orders(filters.status, filters.shop, filters.warehouse))
