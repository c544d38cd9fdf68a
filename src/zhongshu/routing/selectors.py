"""Reads of the routing configuration (edited in the admin; read per intake, so no restart needed)."""

from zhongshu.inventory.models import Warehouse
from zhongshu.routing.domain import NEXT_WAREHOUSE, RoutingTable
from zhongshu.routing.models import ProvinceRegion, RegionRoute, RoutingSettings


def routing_table() -> RoutingTable:
    warehouses = list(Warehouse.objects.filter(active=True).values_list("code", flat=True))
    cfg = RoutingSettings.objects.select_related("default_warehouse").first()
    default = cfg.default_warehouse.code if cfg else (warehouses[0] if warehouses else "")
    return RoutingTable(
        province_region=dict(ProvinceRegion.objects.values_list("province", "region")),
        region_warehouse=dict(RegionRoute.objects.filter(warehouse__active=True).values_list("region", "warehouse__code")),
        default_warehouse=default,
        warehouse_order=tuple(warehouses),
        shortage_policy=cfg.shortage_policy if cfg else NEXT_WAREHOUSE,
    )
