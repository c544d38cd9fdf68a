"""Stock counts and backorders: a stocktake that takes reservations back from the newest allocated
orders when counted stock falls below them, and the retry of backordered orders when stock arrives."""

from decimal import Decimal

from zhongshu.catalog.models import Sku
from zhongshu.inventory import services as stock
from zhongshu.inventory.domain import StockInfo
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.batch import Batch, atomic_with_retry
from zhongshu.orders.models import Order
from zhongshu.orders.states import OrderStatus

S = OrderStatus


def retry_backorders(sku_codes: set[str], actor: str = "system", limit: int = 500) -> int:
    """Allocate backordered orders that hold these SKUs, oldest payment first; returns how many."""
    keys = list(
        Order.objects.filter(status=S.BACKORDERED, lines__sku__code__in=sku_codes)
        .order_by("paid_at", "id")
        .values_list("shop__code", "channel_order_id")
        .distinct()[:limit]
    )
    if not keys:
        return 0

    def run() -> int:
        batch = Batch(set(keys), set(sku_codes), actor)
        done = sum(batch.retry_allocation(k) for k in keys if k in batch.orders)
        batch.flush()
        return done

    return atomic_with_retry(run)


def stocktake(
    sku: Sku, warehouse: Warehouse, physical: int, in_transit: int, coefficient: Decimal, actor: str
) -> None:
    """Set counted stock. When it falls below what is reserved, the newest allocated orders are
    moved back to backordered until the reservations fit; when it rises, backorders are retried
    (by the stock.changed consumer)."""
    supply = StockInfo(sku.code, warehouse.code, physical, 0, in_transit, coefficient).supply
    victims = list(
        Order.objects.filter(status=S.ALLOCATED, warehouse=warehouse, lines__sku=sku)
        .order_by("-paid_at", "-id")
        .values_list("shop__code", "channel_order_id")
        .distinct()
    )

    def run() -> None:
        row = StockLevel.objects.filter(sku=sku, warehouse=warehouse).first()
        if row is not None and row.reserved > supply:
            batch = Batch(set(victims), {sku.code}, actor)
            excess = batch.stock[(sku.code, warehouse.code)].reserved - supply
            for key in victims:
                if excess <= 0:
                    break
                if key in batch.orders and batch.orders[key].status == S.ALLOCATED:
                    excess -= batch.held.get(key, ("", {}))[1].get(sku.code, 0)
                    batch.deallocate(key, f"盘点后 {sku.code}@{warehouse.code} 库存不足，释放锁库")
            batch.flush()
        stock.set_stock(sku, warehouse, physical, in_transit, coefficient, actor)

    atomic_with_retry(run)
