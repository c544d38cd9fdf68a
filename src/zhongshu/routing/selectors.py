"""Reads of the routing configuration (edited in the admin; read per intake, so no restart needed)."""

from zhongshu.inventory.models import Warehouse
from zhongshu.routing.domain import NEXT_WAREHOUSE, RoutingTable
from zhongshu.routing.models import ProvinceRegion, RegionRoute, RoutingSettings


def routing_table(all_warehouses: list[Warehouse] | None = None) -> RoutingTable:
    """The routing table as it is now; pass the warehouses when the caller has loaded them already."""
    if all_warehouses is None:
        all_warehouses = list(Warehouse.objects.all())
    active = sorted((w for w in all_warehouses if w.active), key=lambda w: (w.priority, w.code))
    warehouses = [w.code for w in active]
    cfg = RoutingSettings.objects.first()
    by_id = {w.pk: w.code for w in all_warehouses}
    default = by_id.get(cfg.default_warehouse_id, "") if cfg else (warehouses[0] if warehouses else "")
    return RoutingTable(
        province_region=dict(ProvinceRegion.objects.values_list("province", "region")),
        region_warehouse=dict(
            RegionRoute.objects.filter(warehouse__active=True).values_list("region", "warehouse__code")
        ),
        default_warehouse=default,
        warehouse_order=tuple(warehouses),
        shortage_policy=cfg.shortage_policy if cfg else NEXT_WAREHOUSE,
    )
