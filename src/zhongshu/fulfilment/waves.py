"""Waves (波次) of pending packages, their pick lists, and picking on the PDA: claim, pick, shortage,
finish; the scheduled waves."""

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from zhongshu.core import outbox
from zhongshu.fulfilment import domain, selectors
from zhongshu.fulfilment.common import (
    SYSTEM,
    FloorError,
    NotFound,
    Writes,
    _stop,
    follow_orders,
)
from zhongshu.fulfilment.domain import PackageStatus as P
from zhongshu.fulfilment.models import (
    Package,
    PackageLine,
    Wave,
    WavePickRow,
    WaveStrategy,
)
from zhongshu.fulfilment.recount import raise_recount
from zhongshu.inventory.models import StockLevel, Warehouse

# --- waves (波次), picking -----------------------------------------------------------------------


def create_wave(
    warehouse: str, strategy: str | None = None, max_packages: int | None = None, actor: str = SYSTEM
) -> Wave:
    """A wave of a warehouse's pending packages by a strategy (else the first active strategy, in
    priority order, that yields one), its pick list sorted by bin location. FloorError
    `no_package_ready` when nothing qualifies: an empty wave is never made."""
    return create_waves(warehouse, strategy, max_packages, actor, limit=1)[0]


def create_waves(
    warehouse: str,
    strategy: str | None = None,
    max_packages: int | None = None,
    actor: str = SYSTEM,
    limit: int | None = None,
) -> list[Wave]:
    """Waves one after another (each as `create_wave` would make it) from one read of the pending
    packages, until none qualifies or `limit` waves are made; FloorError `no_package_ready` when not
    even one qualifies."""
    if max_packages is not None and max_packages < 1:
        raise FloorError("bad_request", "每波最多包裹数至少为 1")
    wh = Warehouse.objects.filter(code=warehouse).first()
    if wh is None:
        raise NotFound(f"仓库 {warehouse}")
    if strategy:
        chosen = WaveStrategy.objects.filter(code=strategy).first()
        if chosen is None:
            raise NotFound(f"波次策略 {strategy}")
        strategies = [chosen]
    else:
        strategies = selectors.active_strategies()
    infos = [selectors.strategy_info(st) for st in strategies]
    if max_packages:
        infos = [replace(info, max_packages=max_packages) for info in infos]
    with transaction.atomic():
        # plain rows, not models: a warehouse may have thousands of pending packages
        pending = list(
            Package.objects.select_for_update(of=("self",))
            .filter(warehouse=wh, status=P.PENDING)
            .order_by("pk")
            .values_list("pk", "carrier", "ship_by")
        )
        lines: dict[int, dict[str, int]] = defaultdict(dict)
        sku_ids: dict[str, int] = {}
        for pid, code, sku_id, q in PackageLine.objects.filter(
            package__warehouse=wh, package__status=P.PENDING
        ).values_list("package_id", "sku__code", "sku_id", "quantity"):
            lines[pid][code] = lines[pid].get(code, 0) + q
            sku_ids[code] = sku_id
        wps = [domain.WavePackage(pk, lines[pk], carrier, ship_by) for pk, carrier, ship_by in pending]
        wps = [wp for wp in wps if wp.lines]
        # only what is on the shelves: a reservation on stock still in transit cannot be picked yet
        physical = dict(
            StockLevel.objects.filter(warehouse=wh, sku_id__in=sku_ids.values()).values_list(
                "sku__code", "physical"
            )
        )
        on_floor = dict(
            PackageLine.objects.filter(package__warehouse=wh, package__status__in=domain.ON_FLOOR)
            .values("sku__code")
            .annotate(q=Sum("quantity"))
            .values_list("sku__code", "q")
        )
        wps = domain.on_hand(wps, physical, on_floor)
        ready = len(wps)
        locations = selectors.locations(wh.pk, set(sku_ids))
        w = Writes(actor)
        waves: list[Wave] = []
        while limit is None or len(waves) < limit:
            plan, used = None, None
            for st, info in zip(strategies, infos, strict=True):
                plan = domain.plan_wave(wps, info, locations)
                if plan.packages:
                    used = st
                    break
            if used is None:
                break
            wave = Wave.objects.create(warehouse=wh, strategy=used, kind=used.kind, created_by=w.actor)
            WavePickRow.objects.bulk_create(
                [
                    WavePickRow(
                        wave=wave, position=i, location=r.location, sku_id=sku_ids[r.sku], quantity=r.quantity
                    )
                    for i, r in enumerate(plan.pick_list, start=1)
                ]
            )
            slots = {s.package_id: s.slot for s in plan.slots}
            # what w.move needs of a pending package (no read: its status and warehouse are known)
            chosen_pkgs = [
                Package(pk=pk, status=P.PENDING, warehouse_id=wh.pk)
                for pk in sorted(wp.id for wp in plan.packages)
            ]
            for pkg in chosen_pkgs:
                w.move(pkg, P.WAVED, f"生成波次 W{wave.pk}（{used.name}）")
                pkg.wave, pkg.seed_slot = wave, slots.get(pkg.pk)
            # the same values for every package of the wave (a pending package has no stop), one UPDATE
            Package.objects.filter(pk__in=[p.pk for p in chosen_pkgs]).update(
                status=P.WAVED, wave=wave, seed_slot=None, waved_at=w.now, stop_code="", stop_reason="",
                updated_at=w.now,
            )  # fmt: skip
            if slots:
                Package.objects.bulk_update(
                    [p for p in chosen_pkgs if p.seed_slot is not None], ["seed_slot"]
                )
            taken = {wp.id for wp in plan.packages}
            wps = [wp for wp in wps if wp.id not in taken]
            waves.append(wave)
        if not waves:
            names = "、".join(s.name for s in strategies) or "无启用的策略"
            raise FloorError(
                "no_package_ready",
                f"仓库 {warehouse} 没有可生成波次的包裹（待生成波次 {ready} 个；策略：{names}）",
            )
        w.flush()
        return waves


def _lock_wave(wave_id: int) -> Wave:
    wave = Wave.objects.select_for_update(of=("self",)).filter(pk=wave_id).first()
    if wave is None:
        raise NotFound(f"波次 {wave_id}")
    return wave


def claim_wave(wave_id: int, user, actor: str) -> Wave:
    """One picker per wave: an open wave is claimed (its packages go picking, their orders too);
    claiming it again as the same user changes nothing, as someone else is refused."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status == Wave.Status.CLAIMED and wave.picker_id == user.pk:
            return wave
        if wave.status != Wave.Status.OPEN:
            raise FloorError("wave_taken", f"波次 W{wave.pk} 已被领取或已结束")
        w = Writes(actor)
        wave.status, wave.picker, wave.claimed_at = Wave.Status.CLAIMED, user, w.now
        wave.save(update_fields=["status", "picker", "claimed_at"])
        pkgs = list(Package.objects.select_for_update(of=("self",)).filter(wave=wave, status=P.WAVED))
        for pkg in pkgs:
            w.move(pkg, P.PICKING, f"波次 W{wave.pk} 由 {user.get_username()} 领取")
        Package.objects.bulk_update(pkgs, ["status", "updated_at"])
        follow_orders(pkgs, w, f"波次 W{wave.pk} 开始拣货")
        w.flush()
        return wave


def record_pick(wave_id: int, sku: str, quantity: int, actor: str) -> WavePickRow:
    """Units of a SKU taken from its location; never more than the pick list asks."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status != Wave.Status.CLAIMED:
            raise FloorError("wave_not_claimed", f"波次 W{wave.pk} 未在拣货中")
        row = _pick_row(wave, sku)
        if quantity < 1 or row.picked + quantity > row.quantity:
            raise FloorError("surplus_item", f"{sku} 应拣 {row.quantity} 件，已拣 {row.picked} 件")
        row.picked += quantity
        row.save(update_fields=["picked"])
        return row


def _pick_row(wave: Wave, sku: str) -> WavePickRow:
    row = (
        WavePickRow.objects.select_for_update(of=("self",))
        .select_related("sku")
        .filter(wave=wave, sku__code=selectors.sku_of_code(sku) or domain.normalize_code(sku))
        .first()
    )
    if row is None:
        raise FloorError("wrong_sku", f"{sku} 不在波次 W{wave.pk} 的拣货单上")
    return row


def report_shortage(wave_id: int, sku: str, missing: int, actor: str) -> list[Package]:
    """The location has fewer units than the pick list: packages needing the SKU are stopped (the
    last seeded first) until they account for the missing units, they leave the wave, and a recount
    task (盘点任务) is raised for that location and SKU (with an event on the stock's timeline)."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status not in (Wave.Status.OPEN, Wave.Status.CLAIMED):
            raise FloorError("wave_not_claimed", f"波次 W{wave.pk} 已结束")
        row = _pick_row(wave, sku)
        if missing < 1 or missing > row.quantity - row.picked:
            raise FloorError("bad_request", f"{row.sku.code} 还应拣 {row.quantity - row.picked} 件")
        w = Writes(actor)
        location, code = row.location, row.sku.code
        reason = f"拣货缺货：{code} 货位 {location or '未设置'} 少 {missing} 件"
        pkgs = list(
            Package.objects.select_for_update(of=("self",))
            .filter(wave=wave, status__in=list(domain.IN_WAVE))
            .filter(pk__in=PackageLine.objects.filter(sku=row.sku).values("package_id"))
            .order_by("-seed_slot", "-pk")
        )
        stopped, covered = [], 0
        for pkg in pkgs:
            if covered >= missing:
                break
            covered += sum(ln.quantity for ln in pkg.lines.all() if ln.sku_id == row.sku_id)
            _stop(pkg, w, "shortage", reason)
            pkg.save()
            stopped.append(pkg)
        WavePickRow.objects.filter(pk=row.pk).update(short=row.short + missing)
        task = raise_recount(wave, location, row.sku, missing, reason, w.actor)
        w.events.append(
            outbox.event(
                "stock.recount_requested",
                key=f"stock:{code}",
                actor=w.actor,
                payload={
                    "subject": f"stock:{code}",
                    "sku": code,
                    "warehouse": wave.warehouse.code,
                    "location": location,
                    "task_id": task.pk,
                    "summary": f"请盘点 {wave.warehouse.code} 货位 {location or '未设置'} 的 {code}（波次 W{wave.pk} 缺 {missing} 件）",
                },
            )
        )
        w.flush()
        return stopped


def finish_wave(wave_id: int, actor: str) -> Wave:
    """Picking done: every row picked (shortages reported first); the packages go picked."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status != Wave.Status.CLAIMED:
            raise FloorError("wave_not_claimed", f"波次 W{wave.pk} 未在拣货中")
        left = [r for r in wave.pick_rows.select_related("sku") if r.picked < r.quantity]
        if left:
            listed = "，".join(f"{r.sku.code} 还差 {r.quantity - r.picked}" for r in left)
            raise FloorError("missing_items", f"拣货未完成：{listed}")
        w = Writes(actor)
        wave.status, wave.done_at = Wave.Status.DONE, w.now
        wave.save(update_fields=["status", "done_at"])
        pkgs = list(Package.objects.select_for_update(of=("self",)).filter(wave=wave, status=P.PICKING))
        for pkg in pkgs:
            w.move(pkg, P.PICKED, f"波次 W{wave.pk} 拣货完成")
        Package.objects.bulk_update(pkgs, ["status", "picked_at", "updated_at"])
        w.flush()
        return wave


def scheduled_waves(actor: str = "system:waves") -> list[Wave]:
    """Scheduled wave creation (a setting: every N minutes, 0 = by hand only): for each active
    warehouse whose last wave is at least N minutes old, waves by every active strategy in order
    until none qualifies."""
    every = selectors.wave_every_minutes()
    if not every:
        return []
    since = timezone.now() - timedelta(minutes=every)
    made = []
    for wh in Warehouse.objects.filter(active=True).order_by("code"):
        if Wave.objects.filter(warehouse=wh, created_at__gt=since).exists():
            continue
        for st in selectors.active_strategies():
            try:
                made += create_waves(wh.code, st.code, actor=actor)
            except FloorError:
                pass
    return made
