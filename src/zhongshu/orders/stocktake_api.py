"""PUT /api/v1/stock/{sku}/{warehouse}: a stocktake, the use case that spans stock and orders (it lives
in orders, above inventory, as intake does); the stock reads are inventory.api."""

from decimal import Decimal
from typing import Annotated

from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from zhongshu.catalog.models import Sku
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


@router.put("/stock/{sku}/{warehouse}", response=StockOut, summary="Stocktake: set counted stock (audited)")
def put_stock(request, sku: str, warehouse: str, body: StocktakeIn):
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
