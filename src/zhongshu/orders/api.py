from datetime import datetime
from decimal import Decimal

from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from zhongshu.core.auth import requires
from zhongshu.core.params import Code
from zhongshu.core.responses import errors, example
from zhongshu.orders import selectors
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import CREATED, intake
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
    response={200: OrderOut, 201: OrderOut, **errors(400, 401, 403, 413, 422)},
    summary="Create or update an order (the contract)",
    description="201 when the order is new, 200 when it was updated or unchanged (idempotent by shop, "
    "channel order id and `updated_at`). 422 names each invalid field and the unknown shop or SKUs; "
    "nothing is written.",
    openapi_extra=example(ORDER_EXAMPLE),
)
def post_order(request, payload: OrderIn):
    [result] = intake(
        [payload], actor=f"api:{request.user.username}"
    )  # ReferenceErrors → 422 (see zhongshu.api)
    body = selectors.summary(result.order, holds=result.holds)
    return Status(201 if result.outcome == CREATED else 200, body)


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
