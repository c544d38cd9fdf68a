"""The HTTP API: /api/v1/…, OpenAPI docs at /api/docs, bearer tokens on everything but health."""

from importlib.resources import files

from django.http import HttpResponse
from ninja import NinjaAPI, Router
from ninja.errors import ValidationError

from zhongshu.catalog.api import router as catalog_router
from zhongshu.channels.api import router as channels_router
from zhongshu.core.auth import BearerAuth
from zhongshu.core.overload import BudgetExhausted, budget_exhausted
from zhongshu.fulfilment.api import refusal as floor_refusal
from zhongshu.fulfilment.api import router as fulfilment_router
from zhongshu.fulfilment.services import FloorError
from zhongshu.inventory.api import router as stock_router
from zhongshu.orders.api import router as orders_router
from zhongshu.orders.schemas import field_path
from zhongshu.orders.services import ReferenceErrors
from zhongshu.orders.stocktake_api import router as stocktake_router
from zhongshu.rules.api import router as rules_router
from zhongshu.shipping.api import router as shipping_router
from zhongshu.shipping.tracking_api import router as tracking_router
from zhongshu.webhooks.api import router as webhooks_router

api = NinjaAPI(
    title="zhongshu 中枢 API",
    version="1",
    description="Order hub: intake, orders, SKUs, stock. Authenticate with `Authorization: Bearer <token>` "
    "(create one with `zhongshu token create`).",
    auth=BearerAuth(),
    docs_url="/docs",
    urls_namespace="api",
)

health = Router(tags=["system"])


@health.get("/health", auth=None, summary="Liveness")
def get_health(request):
    return {"status": "ok"}


@health.get("/contract/order.schema.json", auth=None, summary="The order intake contract (JSON Schema)")
def get_order_contract(request):
    """The JSON Schema every order sent to POST /api/v1/orders (and each JSON Lines import line) follows."""
    body = files("zhongshu.orders").joinpath("order.schema.json").read_bytes()
    return HttpResponse(body, content_type="application/schema+json; charset=utf-8")


for r in (
    health,
    orders_router,
    catalog_router,
    stock_router,
    stocktake_router,
    channels_router,
    rules_router,
    fulfilment_router,
    shipping_router,
    tracking_router,
    webhooks_router,
):
    api.add_router("/v1", r)

_TRANSPORT = {"body", "payload", "query", "path", "filters"}


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    detail = []
    for e in exc.errors:
        loc = [p for p in e.get("loc", []) if p not in _TRANSPORT]
        detail.append(
            {"loc": loc, "field": field_path(loc), "msg": e.get("msg", ""), "type": e.get("type", "")}
        )
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(ReferenceErrors)
def reference_error(request, exc: ReferenceErrors):
    detail = [err for errs in exc.errors.values() for err in errs]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(FloorError)
def floor_error(request, exc: FloorError):
    """A refused warehouse-floor action (fulfilment.api.refusal): 409 `{code, detail}` or 404."""
    status, body = floor_refusal(exc)
    return api.create_response(request, body, status=status)


@api.exception_handler(BudgetExhausted)
def out_of_time(request, exc: BudgetExhausted):
    """The request's time budget ran out waiting for the database (core/overload.py): 503 +
    Retry-After; its transaction was rolled back."""
    return budget_exhausted(exc)
