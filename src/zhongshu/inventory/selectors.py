"""Reads of the stock pool."""

from zhongshu.inventory.domain import StockInfo, total
from zhongshu.inventory.models import StockLevel


def stock_of(sku_code: str) -> dict:
    rows = [
        StockInfo(
            r.sku.code, r.warehouse.code, r.physical, r.reserved, r.in_transit, r.in_transit_coefficient
        )
        for r in StockLevel.objects.select_related("sku", "warehouse")
        .filter(sku__code=sku_code)
        .order_by("warehouse__code")
    ]
    return {
        "sku": sku_code,
        "total": total(rows),
        "warehouses": [
            {
                "warehouse": r.warehouse,
                "physical": r.physical,
                "reserved": r.reserved,
                "in_transit": r.in_transit,
                "in_transit_coefficient": r.in_transit_coefficient,
                "available": r.available,
            }
            for r in rows
        ],
    }
