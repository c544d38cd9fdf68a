"""Stock counts and backorders: a stocktake that takes reservations back from the newest allocated
orders when counted stock falls below them, and the retry of backordered orders when stock arrives."""

from decimal import Decimal

from django.db.models import Q, Sum

from zhongshu.catalog.models import Sku
from zhongshu.inventory import services as stock
from zhongshu.inventory.domain import StockInfo
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.batch import Batch, Conflict, atomic_with_retry
from zhongshu.orders.models import Order, OrderLine
from zhongshu.orders.states import RESERVING, OrderStatus

S = OrderStatus
KEPT = RESERVING - {S.ALLOCATED}  # reserving orders a stocktake cannot take back (picking, packed)


def retry_backorders(sku_codes: set[str], actor: str = "system", limit: int = 500) -> int:
    """Allocate backordered orders that hold these SKUs, oldest payment first; returns how many.

    Bounded by what could succeed: every order it allocates takes at least one available unit of one
    of these SKUs, so it loads no more orders than there are such units (read without locks first —
    nothing available, nothing locked). A hot SKU sold out in a promotion has hundreds of backorders;
    a cancellation that frees one unit retries one of them, not all."""
    free = free_units(sku_codes)
    if free <= 0:
        return 0
    keys = list(
        Order.objects.filter(status=S.BACKORDERED, lines__sku__code__in=sku_codes)
        .order_by("paid_at", "id")
        .values_list("shop__code", "channel_order_id")
        .distinct()[: min(limit, free)]
    )
    if not keys:
        return 0

    def run() -> int:
        batch = Batch(set(keys), set(sku_codes), actor)
        done = sum(batch.retry_allocation(k) for k in keys if k in batch.orders)
        batch.flush()
        return done

    return atomic_with_retry(run)


def free_units(sku_codes: set[str]) -> int:
    """Units of these SKUs available to allocate in all warehouses (an unlocked read)."""
    rows = StockLevel.objects.filter(sku__code__in=sku_codes).select_related("sku", "warehouse")
    return sum(max(0, stock.info(r).available) for r in rows)


def backordered_skus() -> set[str]:
    """SKUs that some backordered order waits for (the periodic retry's work list)."""
    return set(
        OrderLine.objects.filter(order__status=S.BACKORDERED).values_list("sku__code", flat=True).distinct()
    )


class StocktakeRefused(ValueError):
    """Counted stock below what orders already in picking or packing hold: nothing was written."""


def refusal(
    sku: Sku, warehouse: Warehouse, physical: int, in_transit: int, coefficient: Decimal
) -> str | None:
    """Why this count would be refused (a form checks before saving), else None."""
    supply = StockInfo(sku.code, warehouse.code, physical, 0, in_transit, coefficient).supply
    whole = OrderLine.objects.filter(
        order__status__in=KEPT, order__warehouse=warehouse, order__split={}, sku=sku
    )
    held = whole.aggregate(n=Sum("quantity"))["n"] or 0
    split = Order.objects.filter(status__in=KEPT, split__has_key=warehouse.code).values_list(
        "split", flat=True
    )
    held += sum(int(parts[warehouse.code].get(sku.code, 0)) for parts in split)  # 拆单: this warehouse's part
    return _refused(sku, warehouse, supply, held) if held > supply else None


def _refused(sku: Sku, warehouse: Warehouse, supply: int, held: int) -> str:
    return f"{sku.code}@{warehouse.code} 盘点可用 {supply}，低于拣货/打包中订单占用的 {held}，未保存"


def stocktake(
    sku: Sku, warehouse: Warehouse, physical: int, in_transit: int, coefficient: Decimal, actor: str
) -> None:
    """Set counted stock. When it falls below what is reserved, the newest allocated orders are
    moved back to backordered until the reservations fit; when it rises, backorders are retried
    (by the stock.changed consumer).

    The SKU's stock rows are locked first, so no intake reserves it meanwhile, and the orders to take
    back are chosen after that, inside the transaction. An order to take back that another transaction
    holds (an intake changing it waits for these stock rows) is not waited for: the stocktake starts
    over. Raises StocktakeRefused when orders that can no longer be taken back (picking, packed) hold
    more than the count."""
    supply = StockInfo(sku.code, warehouse.code, physical, 0, in_transit, coefficient).supply

    def run() -> None:
        row = stock.lock_stock({sku.pk}).get((sku.code, warehouse.code))
        if row is not None and row.reserved > supply:
            victims = list(
                Order.objects.filter(status=S.ALLOCATED, lines__sku=sku)
                .filter(Q(warehouse=warehouse) | Q(split__has_key=warehouse.code))  # 拆单: any part here
                .order_by("-paid_at", "-id")
                .values_list("shop__code", "channel_order_id")
                .distinct()
            )
            batch = Batch(set(victims), {sku.code}, actor, skip_locked=True)
            excess = batch.stock[(sku.code, warehouse.code)].reserved - supply
            for key in victims:
                if excess <= 0:
                    break
                if key not in batch.orders:
                    raise Conflict(f"stocktake {sku.code}@{warehouse.code}: order {key} is being changed")
                here = sum(n.get(sku.code, 0) for wh, n in batch.held.get(key, []) if wh == warehouse.code)
                if batch.orders[key].status == S.ALLOCATED and here:
                    excess -= here
                    batch.deallocate(key, f"盘点后 {sku.code}@{warehouse.code} 库存不足，释放锁库")
            if excess > 0:
                raise StocktakeRefused(_refused(sku, warehouse, supply, supply + excess))
            batch.flush()
        stock.set_stock(sku, warehouse, physical, in_transit, coefficient, actor)

    # more attempts than intake's: the packages' consumer may hold a batch of this SKU's orders for a
    # moment (it makes packages 200 orders a transaction), and a stocktake is never given up lightly
    atomic_with_retry(run, attempts=20)
