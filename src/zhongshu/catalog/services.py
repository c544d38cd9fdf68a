"""Catalogue writes."""

from decimal import Decimal

from django.db import transaction

from zhongshu.catalog.models import Sku


@transaction.atomic
def upsert_sku(
    code: str, title: str, cost_price: Decimal, weight_g: int, presale: bool, **extra
) -> tuple[Sku, bool]:
    """Create or update a SKU by its merchant code; returns (sku, created)."""
    return Sku.objects.update_or_create(
        code=code,
        defaults={
            "title": title,
            "cost_price": cost_price,
            "weight_g": weight_g,
            "presale": presale,
            **extra,
        },
    )
