"""Fixtures and builders shared by the tests: a hub with shops, warehouses, routing, SKUs, stock."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from zhongshu.catalog.models import Sku
from zhongshu.channels.models import Shop
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.routing import defaults
from zhongshu.routing.models import ProvinceRegion, RegionRoute, RoutingSettings

# The order contract shipped with the package (also served at /api/v1/contract/order.schema.json).
CONTRACT = Path(__file__).resolve().parents[1] / "src" / "zhongshu" / "orders" / "order.schema.json"


def example_order(**changes) -> dict:
    """The contract's example order, with top-level changes."""
    order = copy.deepcopy(json.loads(CONTRACT.read_text(encoding="utf-8"))["examples"][0])
    order.update(changes)
    return order


def put_stock(
    sku: str, warehouse: str, physical: int, in_transit: int = 0, coefficient: str = "0.8"
) -> StockLevel:
    row, _ = StockLevel.objects.update_or_create(
        sku=Sku.objects.get(code=sku),
        warehouse=Warehouse.objects.get(code=warehouse),
        defaults={
            "physical": physical,
            "in_transit": in_transit,
            "in_transit_coefficient": Decimal(coefficient),
        },
    )
    return row


@pytest.fixture
def hub(db):
    """Shops mp/tb, warehouses GZ and CD with the shipped routing, SKU DUMPLING-500G (no stock)."""
    defaults.seed(Warehouse, ProvinceRegion, RegionRoute, RoutingSettings)
    Shop.objects.get_or_create(code="mp", defaults={"name": "自有小程序", "platform": "own"})
    Shop.objects.get_or_create(code="tb", defaults={"name": "天猫旗舰店", "platform": "taobao"})
    Sku.objects.get_or_create(
        code="DUMPLING-500G", defaults={"title": "手工水饺 500g", "cost_price": Decimal("20.00")}
    )
    return None
