"""Reads of the stock pool."""

from decimal import Decimal

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Floor

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


# --- the stock pages: the available-stock formula in SQL ----------------------------------------

# A default low-stock line for rows without a safety line (analytics fills `safety_stock`).
LOW_STOCK = 10
# floor(in_transit × coefficient) in SQL: the coefficient has 3 decimal places, so the exact product
# is never within 0.001 below a whole number; the epsilon only cancels SQLite's binary-float error
# (0.29 × 100 = 28.999…), it cannot lift a true fraction to the next unit.
_EPSILON = Value(Decimal("0.000001"))


def available_expr(prefix: str = "") -> ExpressionWrapper:
    """`StockInfo.available` as a database expression over StockLevel fields (behind `prefix`)."""
    usable = Floor(
        ExpressionWrapper(
            F(f"{prefix}in_transit") * F(f"{prefix}in_transit_coefficient") + _EPSILON,
            output_field=DecimalField(max_digits=20, decimal_places=6),
        )
    )
    return ExpressionWrapper(
        F(f"{prefix}physical") - F(f"{prefix}reserved") + Cast(usable, IntegerField()),
        output_field=IntegerField(),
    )


def low_line_expr(prefix: str = "") -> Coalesce:
    """The line below which a row is low: its safety line, else LOW_STOCK."""
    return Coalesce(F(f"{prefix}safety_stock"), Value(LOW_STOCK), output_field=IntegerField())


def with_stock_totals(skus: QuerySet) -> QuerySet:
    """SKUs annotated with their totals over every warehouse (0 without stock rows) and the sum of
    their safety lines (None until analytics fills one)."""
    zero = Value(0)
    return skus.annotate(
        stock_physical=Coalesce(Sum("stock__physical"), zero),
        stock_reserved=Coalesce(Sum("stock__reserved"), zero),
        stock_in_transit=Coalesce(Sum("stock__in_transit"), zero),
        stock_available=Coalesce(Sum(available_expr("stock__")), zero),
        stock_safety=Sum("stock__safety_stock"),
    )


def with_sources(alerts: QuerySet) -> QuerySet:
    """Transfer alerts annotated with what their source warehouses hold now: `from_free`, the available
    units of the suggested source (建议调出仓), and `best_source` / `best_free`, the active warehouse
    other than the one short with the most available units of the SKU (None when none has any)."""
    stock = StockLevel.objects.filter(sku=OuterRef("sku")).annotate(free=available_expr())
    best = (
        stock.filter(warehouse__active=True, free__gt=0)
        .exclude(warehouse=OuterRef("to_warehouse"))
        .order_by("-free", "warehouse__priority")
    )
    return alerts.annotate(
        from_free=Subquery(stock.filter(warehouse=OuterRef("from_warehouse")).values("free")[:1]),
        best_source=Subquery(best.values("warehouse__name")[:1]),
        best_free=Subquery(best.values("free")[:1]),
    )
