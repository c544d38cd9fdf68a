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

CONTRACT = Path(__file__).resolve().parents[1].parent / "shared" / "contracts" / "order.schema.json"

EXAMPLE_ORDER = {
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


def example_order(**changes) -> dict:
    """The contract's example order (from shared/contracts when present), with top-level changes."""
    base = EXAMPLE_ORDER
    if CONTRACT.exists():
        base = json.loads(CONTRACT.read_text())["examples"][0]
    order = copy.deepcopy(base)
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
