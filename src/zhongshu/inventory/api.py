from decimal import Decimal
from typing import Annotated

from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from zhongshu.catalog.models import Sku
from zhongshu.core.auth import requires
from zhongshu.core.params import Code
from zhongshu.core.responses import errors, example
from zhongshu.inventory.models import Warehouse
from zhongshu.inventory.selectors import stock_of
from zhongshu.orders.services import stocktake

router = Router(tags=["stock"])


class StocktakeIn(Schema):
    physical: Annotated[int, Field(ge=0, le=100_000_000)]
    in_transit: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    in_transit_coefficient: Annotated[Decimal, Field(ge=0, le=1, max_digits=4, decimal_places=3)] = Decimal(
        "0.8"
    )


class WarehouseStock(Schema):
    warehouse: str
    physical: int
    reserved: int
    in_transit: int
    in_transit_coefficient: Decimal
    available: int


class StockTotal(Schema):
    physical: int
    reserved: int
    in_transit: int
    available: int


class StockOut(Schema):
    sku: str
    total: StockTotal
    warehouses: list[WarehouseStock]


@router.put(
    "/stock/{sku}/{warehouse}",
    auth=requires("inventory.change_stocklevel", "inventory.add_stocklevel"),
    response={200: StockOut, **errors(400, 401, 403, 404, 413, 422)},
    summary="Stocktake: set counted stock (audited)",
    openapi_extra=example({"physical": 100, "in_transit": 20, "in_transit_coefficient": "0.8"}),
)
def put_stock(request, sku: Code, warehouse: Code, body: StocktakeIn):
    item = Sku.objects.filter(code=sku).first()
    wh = Warehouse.objects.filter(code=warehouse).first()
    if item is None:
        raise HttpError(404, f"unknown SKU '{sku}'")
    if wh is None:
        raise HttpError(404, f"unknown warehouse '{warehouse}'")
    stocktake(
        item,
        wh,
        body.physical,
        body.in_transit,
        body.in_transit_coefficient,
        actor=f"user:{request.user.username}",
    )
    return stock_of(sku)


@router.get(
    "/stock/{sku}",
    auth=requires("inventory.view_stocklevel"),
    response={200: StockOut, **errors(401, 403, 404, 422)},
    summary="Stock of a SKU per warehouse and in total",
)
def get_stock(request, sku: Code):
    if not Sku.objects.filter(code=sku).exists():
        raise HttpError(404, f"unknown SKU '{sku}'")
    return stock_of(sku)
