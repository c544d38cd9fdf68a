"""Every stock write. Rows are locked in primary-key order; reservations are conditional updates."""

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from zhongshu.catalog.models import Sku
from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.inventory.domain import StockInfo
from zhongshu.inventory.models import StockLevel, TransferAlert, Warehouse


class OversellError(RuntimeError):
    """A reservation would exceed supply: a bug upstream; the transaction is rolled back."""


def info(row: StockLevel) -> StockInfo:
    return StockInfo(
        row.sku.code,
        row.warehouse.code,
        row.physical,
        row.reserved,
        row.in_transit,
        row.in_transit_coefficient,
    )


def lock_stock(sku_ids: set[int]) -> dict[tuple[str, str], StockLevel]:
    """Lock (PostgreSQL: FOR UPDATE) the stock rows of these SKUs in pk order; keyed by (sku, warehouse)."""
    if not sku_ids:
        return {}
    rows = (
        StockLevel.objects.select_for_update(of=("self",))
        .select_related("sku", "warehouse")
        .filter(sku_id__in=sku_ids)
        .order_by("pk")
    )
    return {(r.sku.code, r.warehouse.code): r for r in rows}


def stock_event(row: StockLevel, reason: str, actor: str, delta: dict | None = None) -> OutboxEvent:
    s = info(row)
    return outbox.event(
        "stock.changed",
        key=s.sku,
        actor=actor,
        payload={
            "subject": f"stock:{s.sku}",
            "sku": s.sku,
            "warehouse": s.warehouse,
            "physical": s.physical,
            "reserved": s.reserved,
            "in_transit": s.in_transit,
            "available": s.available,
            "reason": reason,
            "delta": delta or {},
            "summary": f"{s.sku}@{s.warehouse} {reason}: 实物 {s.physical} 预留 {s.reserved} 可用 {s.available}",
        },
    )


def change_reserved(
    rows: dict[int, StockLevel], deltas: dict[int, int], reason: str, actor: str
) -> list[OutboxEvent]:
    """Apply reservation deltas (+ reserve, − release) to locked rows; refuses any oversell.

    One conditional UPDATE … FROM (VALUES …) for the whole batch: a row changes only if its reserved
    stays ≥ 0 and, when reserving, within physical + usable in-transit — whatever the caller computed.
    Fewer rows changed than asked means an oversell: OversellError, and the transaction rolls back.
    """
    changes = [(pk, deltas[pk], info(rows[pk]).usable_in_transit) for pk in sorted(deltas) if deltas[pk]]
    if not changes:
        return []
    changed = _update_from_values(
        changes,
        "SET reserved = {t}.reserved + d.column2",
        "{t}.reserved + d.column2 >= 0 AND (d.column2 <= 0 OR {t}.physical + d.column3 >= {t}.reserved + d.column2)",
    )
    if changed != len(changes):
        refused = [
            f"{rows[pk].sku.code}@{rows[pk].warehouse.code} {d:+d}"
            for pk, d, _ in changes
            if not _fits(rows[pk], d)
        ]
        raise OversellError(
            f"stock: cannot change reserved by {', '.join(refused) or changes} (changed by another writer?)"
        )
    events = []
    for pk, delta, _ in changes:
        rows[pk].reserved += delta
        events.append(stock_event(rows[pk], reason, actor, {"reserved": delta}))
    return events


def consume_reserved(
    rows: dict[int, StockLevel], quantities: dict[int, int], reason: str, actor: str
) -> list[OutboxEvent]:
    """Goods leave the warehouse (the outbound scan): physical and reserved both go down by the
    quantity, on locked rows, in one conditional UPDATE; a row without that much reserved and physical
    stock is refused (OversellError, the transaction rolls back), so a package is consumed once."""
    changes = [(pk, quantities[pk]) for pk in sorted(quantities) if quantities[pk] > 0]
    if not changes:
        return []
    changed = _update_from_values(
        changes,
        "SET reserved = {t}.reserved - d.column2, physical = {t}.physical - d.column2",
        "{t}.reserved >= d.column2 AND {t}.physical >= d.column2",
    )
    if changed != len(changes):
        short = [f"{rows[pk].sku.code}@{rows[pk].warehouse.code} {q}" for pk, q in changes]
        raise OversellError(f"stock: cannot ship {', '.join(short)}: not that much reserved and on hand")
    events = []
    for pk, q in changes:
        rows[pk].reserved -= q
        rows[pk].physical -= q
        events.append(stock_event(rows[pk], reason, actor, {"physical": -q, "reserved": -q}))
    return events


def _update_from_values(changes: list[tuple[int, ...]], set_clause: str, condition: str) -> int:
    """One conditional `UPDATE stock … FROM (VALUES (id, n, …))` per chunk of rows (`{t}` is the
    table, d.column1 the row id, d.column2… the values); returns how many rows it changed, so the
    caller can tell a refused row from a changed one."""
    table = connection.ops.quote_name(StockLevel._meta.db_table)
    row = "(" + ", ".join(["CAST(%s AS integer)"] * len(changes[0])) + ")"
    changed = 0
    with connection.cursor() as cur:
        for start in range(0, len(changes), _CHUNK):
            chunk = changes[start : start + _CHUNK]
            cur.execute(
                f"UPDATE {table} {set_clause.format(t=table)}"
                f" FROM (VALUES {', '.join([row] * len(chunk))}) AS d"
                f" WHERE {table}.id = d.column1 AND {condition.format(t=table)}",
                [v for change in chunk for v in change],
            )
            changed += cur.rowcount
    return changed


def _fits(row: StockLevel, delta: int) -> bool:
    after = row.reserved + delta
    return after >= 0 and (delta <= 0 or after <= info(row).supply)


_CHUNK = 5_000  # rows per UPDATE: 3 parameters each, under SQLite's bound-parameter limit


@transaction.atomic
def set_stock(
    sku: Sku,
    warehouse: Warehouse,
    physical: int,
    in_transit: int,
    in_transit_coefficient: Decimal,
    actor: str,
    reason: str = "stocktake",
) -> StockLevel:
    """Stocktake: set physical and in-transit quantities; reservations are kept (the caller rebalances)."""
    row, _ = StockLevel.objects.select_for_update().get_or_create(sku=sku, warehouse=warehouse)
    before = info(row) if row.pk else None
    row.physical, row.in_transit, row.in_transit_coefficient = physical, in_transit, in_transit_coefficient
    row.save(update_fields=["physical", "in_transit", "in_transit_coefficient", "updated_at"])
    delta = (
        {"physical": physical - before.physical, "in_transit": in_transit - before.in_transit}
        if before
        else {}
    )
    outbox.write([stock_event(row, reason, actor, delta)])
    return row


def set_location(row: StockLevel, location: str) -> None:
    """Set the bin location (货位) of a stock row; quantities are not touched."""
    row.location = location.strip()
    StockLevel.objects.filter(pk=row.pk).update(location=row.location)


def raise_transfer_alerts(shortfalls: list[tuple[Sku, Warehouse, int, Warehouse | None]], actor: str) -> None:
    """Add each shortfall to the open 调拨预警 of (SKU, warehouse), creating it when none is open. A
    batch's shortfalls of one pair count together: one read of the open alerts, one UPDATE per pair
    already open, one INSERT of the new ones, and one event per pair with its new total."""
    pairs: dict[tuple[int, int], list] = {}  # (sku, warehouse) → [sku, warehouse, quantity, orders, source]
    for sku, to_wh, qty, from_wh in shortfalls:
        pair = pairs.setdefault((sku.pk, to_wh.pk), [sku, to_wh, 0, 0, from_wh])
        pair[2] += qty
        pair[3] += 1
    if not pairs:
        return
    open_alerts: dict[tuple[int, int], TransferAlert] = {}
    for alert in TransferAlert.objects.filter(
        sku_id__in={k[0] for k in pairs},
        to_warehouse_id__in={k[1] for k in pairs},
        status=TransferAlert.Status.OPEN,
    ).order_by("-pk"):
        open_alerts[(alert.sku_id, alert.to_warehouse_id)] = alert  # the oldest open one wins
    new, total = [], {}
    for key, (sku, to_wh, qty, orders, from_wh) in pairs.items():
        alert = open_alerts.get(key)
        if alert is None:
            new.append(
                TransferAlert(
                    sku=sku, to_warehouse=to_wh, from_warehouse=from_wh, quantity=qty, orders=orders
                )
            )
        else:
            TransferAlert.objects.filter(pk=alert.pk).update(
                quantity=F("quantity") + qty, orders=F("orders") + orders, updated_at=timezone.now()
            )
        total[key] = qty + (alert.quantity if alert else 0)
    TransferAlert.objects.bulk_create(new)
    outbox.write(
        outbox.event(
            "stock.transfer_alert",
            key=sku.code,
            actor=actor,
            payload={
                "subject": f"stock:{sku.code}",
                "sku": sku.code,
                "to_warehouse": to_wh.code,
                "from_warehouse": from_wh.code if from_wh else None,
                "quantity": total[key],
                "summary": f"调拨预警 {sku.code} → {to_wh.code}: 建议调拨 {total[key]}",
            },
        )
        for key, (sku, to_wh, _qty, _orders, from_wh) in pairs.items()
    )


@transaction.atomic
def close_transfer_alerts(alert_ids: list[int], status: str, actor: str) -> int:
    """Mark open transfer alerts done or dismissed, on the audit timeline; returns how many closed."""
    alerts = list(
        TransferAlert.objects.select_for_update(of=("self",))
        .filter(pk__in=alert_ids, status=TransferAlert.Status.OPEN)
        .select_related("sku", "to_warehouse")
    )
    TransferAlert.objects.filter(pk__in=[a.pk for a in alerts]).update(
        status=status, updated_at=timezone.now()
    )
    label = TransferAlert.Status(status).label
    outbox.write(
        outbox.event(
            "stock.transfer_alert_closed",
            key=a.sku.code,
            actor=actor,
            payload={
                "subject": f"stock:{a.sku.code}",
                "sku": a.sku.code,
                "to_warehouse": a.to_warehouse.code,
                "quantity": a.quantity,
                "status": status,
                "summary": f"调拨预警 {a.sku.code} → {a.to_warehouse.code} {label}",
            },
        )
        for a in alerts
    )
    return len(alerts)
