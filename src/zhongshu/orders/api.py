from datetime import datetime
from decimal import Decimal

from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from zhongshu.orders import selectors
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import CREATED, intake
from zhongshu.orders.states import OrderStatus

router = Router(tags=["orders"])


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


class OrderDetailOut(OrderOut):
    receiver: ReceiverOut
    lines: list[LineOut]
    history: list[dict]
    packages: list[PackageRef]


class OrderFilter(Schema):
    status: OrderStatus | None = None
    shop: str | None = None
    warehouse: str | None = None


@router.post(
    "/orders", response={200: OrderOut, 201: OrderOut}, summary="Create or update an order (the contract)"
)
def post_order(request, payload: OrderIn):
    [result] = intake(
        [payload], actor=f"api:{request.user.username}"
    )  # ReferenceErrors → 422 (see zhongshu.api)
    body = selectors.summary(result.order, holds=result.holds)
    return Status(201 if result.outcome == CREATED else 200, body)


@router.get(
    "/orders/{shop}/{channel_order_id}", response=OrderDetailOut, summary="One order with lines and history"
)
def get_order(request, shop: str, channel_order_id: str):
    order = selectors.order_detail(shop, channel_order_id)
    if order is None:
        raise HttpError(404, f"no order '{channel_order_id}' in shop '{shop}'")
    return selectors.detail(order)


@router.get("/orders", response=list[OrderOut], summary="Orders, newest first, filtered and paged")
@paginate(PageNumberPagination, page_size=50)
def list_orders(request, filters: Query[OrderFilter]):
    return [selectors.summary(o) for o in selectors.orders(filters.status, filters.shop, filters.warehouse)]
