"""The shipped routing defaults, shared by the data migration and fresh test databases."""

from zhongshu.routing.address import DEFAULT_REGIONS

CD_REGIONS = ("华中", "西南")


def seed(Warehouse, ProvinceRegion, RegionRoute, RoutingSettings) -> None:  # noqa: N803 - model classes
    """华中 and 西南 → 成都仓 (CD); everything else → 广州仓 (GZ); policy next_warehouse. Idempotent."""
    gz, _ = Warehouse.objects.get_or_create(
        code="GZ", defaults={"name": "广州仓", "province": "广东省", "priority": 10}
    )
    cd, _ = Warehouse.objects.get_or_create(
        code="CD", defaults={"name": "成都仓", "province": "四川省", "priority": 20}
    )
    for province, region in DEFAULT_REGIONS.items():
        ProvinceRegion.objects.get_or_create(province=province, defaults={"region": region})
    for region in CD_REGIONS:
        RegionRoute.objects.get_or_create(region=region, defaults={"warehouse": cd})
    if not RoutingSettings.objects.exists():
        RoutingSettings.objects.create(default_warehouse=gz, shortage_policy="next_warehouse")
