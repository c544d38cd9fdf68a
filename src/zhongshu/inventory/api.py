"""Stock reads. A stocktake (PUT) spans stock and orders: orders.stocktake_api."""

from decimal import Decimal

from ninja import Router, Schema
from ninja.errors import HttpError

from zhongshu.catalog.models import Sku
from zhongshu.core.auth import requires
from zhongshu.core.params import Code
from zhongshu.core.responses import errors
from zhongshu.inventory.selectors import stock_of

router = Router(tags=["stock"])


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
