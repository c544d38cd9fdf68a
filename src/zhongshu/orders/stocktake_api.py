"""PUT /api/v1/stock/{sku}/{warehouse}: a stocktake, the use case that spans stock and orders (it lives
in orders, above inventory, as intake does); the stock reads are inventory.api."""

from decimal import Decimal
from typing import Annotated

from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from zhongshu.catalog.models import Sku
from zhongshu.core.auth import requires
from zhongshu.core.params import Code
from zhongshu.core.responses import errors, example
from zhongshu.inventory.api import StockOut
from zhongshu.inventory.models import Warehouse
from zhongshu.inventory.selectors import stock_of
from zhongshu.orders.stocktake import StocktakeRefused, stocktake

router = Router(tags=["stock"])


class StocktakeIn(Schema):
    physical: Annotated[int, Field(ge=0, le=100_000_000)]
    in_transit: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    in_transit_coefficient: Annotated[Decimal, Field(ge=0, le=1, max_digits=4, decimal_places=3)] = Decimal(
        "0.8"
    )


@router.put(
    "/stock/{sku}/{warehouse}",
    auth=requires("inventory.change_stocklevel", "inventory.add_stocklevel"),
    response={200: StockOut, **errors(400, 401, 403, 404, 409, 413, 422)},
    summary="Stocktake: set counted stock (audited); 409 when below what picking/packed orders hold",
    openapi_extra=example({"physical": 100, "in_transit": 20, "in_transit_coefficient": "0.8"}),
)
def put_stock(request, sku: Code, warehouse: Code, body: StocktakeIn):
    item = Sku.objects.filter(code=sku).first()
    wh = Warehouse.objects.filter(code=warehouse).first()
    if item is None:
        raise HttpError(404, f"unknown SKU '{sku}'")
    if wh is None:
        raise HttpError(404, f"unknown warehouse '{warehouse}'")
    try:
        stocktake(
            item,
            wh,
            body.physical,
            body.in_transit,
            body.in_transit_coefficient,
            actor=f"user:{request.user.username}",
        )
    except StocktakeRefused as exc:
        raise HttpError(409, str(exc)) from exc
    return stock_of(sku)
