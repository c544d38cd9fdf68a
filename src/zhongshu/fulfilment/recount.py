"""盘点任务 (recount tasks): a shortage reported while picking raises one for that location and SKU
(in the shortage's transaction, beside its `stock.recount_requested` event); whoever counts closes it
with the counted quantity. Correcting the stock itself stays the stocktake's job (inventory)."""

from django.db import transaction
from django.utils import timezone

from zhongshu.core import outbox
from zhongshu.fulfilment.common import FloorError, NotFound
from zhongshu.fulfilment.models import RecountTask, Wave


def raise_recount(wave: Wave, location: str, sku, missing: int, reason: str, actor: str) -> RecountTask:
    """An open task for this warehouse, location and SKU (one already open takes the new shortage)."""
    task = (
        RecountTask.objects.select_for_update(of=("self",))
        .filter(warehouse_id=wave.warehouse_id, location=location, sku=sku, status=RecountTask.Status.OPEN)
        .order_by("pk")
        .first()
    )
    if task is None:
        return RecountTask.objects.create(
            warehouse_id=wave.warehouse_id, location=location, sku=sku, wave=wave, missing=missing,
            reason=reason[:400], raised_by=actor[:128],
        )  # fmt: skip
    task.missing += missing
    task.reason = f"{task.reason}；{reason}"[:400]
    task.save(update_fields=["missing", "reason"])
    return task


def complete_recount(task_id: int, counted: int, actor: str, note: str = "") -> RecountTask:
    """Close an open recount task with the units counted at the location (audited by an event on the
    stock's timeline)."""
    if counted is None or counted < 0:
        raise FloorError("bad_request", "盘点数量必须是 0 或正整数")
    with transaction.atomic():
        task = (
            RecountTask.objects.select_for_update(of=("self",))
            .select_related("warehouse", "sku")
            .filter(pk=task_id)
            .first()
        )
        if task is None:
            raise NotFound(f"盘点任务 {task_id}")
        if task.status != RecountTask.Status.OPEN:
            raise FloorError("recount_done", f"盘点任务 R{task.pk} 已完成")
        task.status, task.counted, task.note = RecountTask.Status.DONE, counted, note[:200]
        task.done_by, task.done_at = actor[:128], timezone.now()
        task.save(update_fields=["status", "counted", "note", "done_by", "done_at"])
        code = task.sku.code
        where = f"{task.warehouse.code} 货位 {task.location or '未设置'}"
        outbox.write(
            [
                outbox.event(
                    "stock.recounted",
                    key=f"stock:{code}",
                    actor=actor,
                    payload={
                        "subject": f"stock:{code}",
                        "sku": code,
                        "warehouse": task.warehouse.code,
                        "location": task.location,
                        "task_id": task.pk,
                        "counted": counted,
                        "summary": f"盘点完成：{where} 的 {code} 实有 {counted} 件（R{task.pk}）",
                    },
                )
            ]
        )
        return task
