"""The shipped fulfilment defaults, shared by the data migration and fresh test databases."""

from decimal import Decimal

# (name, weight in grams)
PACKAGING = (
    ("快递袋 小号", 10),
    ("快递袋 大号", 20),
    ("纸箱 1号", 60),
    ("纸箱 3号", 150),
    ("纸箱 5号", 280),
    ("保温箱(冷链)", 450),
)

# (code, name, kind, max packages, min packages, priority)
WAVE_STRATEGIES = (
    ("hot", "爆款", "hot", 200, 5, 10),
    ("single-unit", "单品单件", "single_unit", 100, 1, 20),
    ("single-sku", "单品多件", "single_sku", 60, 1, 30),
    ("multi", "多品", "multi", 30, 1, 40),
)


def seed(PackagingType, WaveStrategy, FulfilmentSettings) -> None:  # noqa: N803 - model classes
    """Packaging types, the four wave strategies and the settings row (50 g / 5 %). Idempotent."""
    for name, weight in PACKAGING:
        PackagingType.objects.get_or_create(name=name, defaults={"weight_g": weight})
    for code, name, kind, most, least, priority in WAVE_STRATEGIES:
        WaveStrategy.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "max_packages": most,
                "min_packages": least,
                "priority": priority,
            },
        )
    if not FulfilmentSettings.objects.exists():
        FulfilmentSettings.objects.create(
            weigh_over_g=50,
            weigh_over_pct=Decimal("5.00"),
            weigh_under_g=50,
            weigh_under_pct=Decimal("5.00"),
        )
