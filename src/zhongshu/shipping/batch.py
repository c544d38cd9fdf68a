"""Waybills for many packages at once (a wave's): grouped by waybill account, asked in each provider's
batch size, each answered batch stored in one short transaction. A refusal of one package (an empty
balance, an address out of reach) never costs the others their numbers. Called as
`shipping.services.issue_waybills`; POST /api/v1/waves/{id}/waybills."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from zhongshu.fulfilment.common import Writes
from zhongshu.fulfilment.models import Package, PackageLine, PackageOrder
from zhongshu.shipping import providers
from zhongshu.shipping.models import Waybill, WaybillAccount
from zhongshu.shipping.providers.base import UNAVAILABLE, Outcome, WaybillError, WaybillRequest
from zhongshu.shipping.services import (
    WAYBILL_OK,
    ShippingError,
    _connection,
    _issued_event,
    _note,
    _request,
    _store,
    _waybill_row,
    account_for,
    plain_account,
)

# provider calls in flight at once for one account (platform QPS limits are per app and shop; 4 stays
# well inside the documented defaults — UNCONFIRMED per platform)
PARALLEL_CALLS = 4
STORE_EVERY = 10


@dataclass
class WaybillBatch:
    """What `issue_waybills` did: new waybills, packages that had one, and refusals by package id."""

    issued: list[Waybill] = field(default_factory=list)
    already: list[Waybill] = field(default_factory=list)
    refused: dict[int, tuple[str, str]] = field(default_factory=dict)  # package id → (code, detail)


def issue_waybills(package_ids, actor: str) -> WaybillBatch:
    """Waybills for many packages (a wave): grouped by waybill account, each group asked in its
    provider's batch size (Cainiao/PDD/Kuaishou 10, Douyin 50), every outcome stored, so a refused
    package (empty balance, address out of reach) never costs the others their numbers. A package
    that has a waybill keeps it. Provider calls run outside any transaction; each answered batch is
    stored in one short one."""
    batch = WaybillBatch()
    ids = sorted({int(i) for i in package_ids})
    pkgs = {p.pk: p for p in Package.objects.select_related("shop", "warehouse").filter(pk__in=ids)}
    actives = {
        w.package_id: w for w in Waybill.objects.filter(package_id__in=ids, status=Waybill.Status.ACTIVE)
    }
    orders: dict[int, list] = {}
    for link in PackageOrder.objects.filter(package_id__in=ids).select_related("order").order_by("order_id"):
        orders.setdefault(link.package_id, []).append(link.order)
    lines: dict[int, list] = {}
    for ln in (
        PackageLine.objects.filter(package_id__in=ids).select_related("sku", "order_line").order_by("pk")
    ):
        lines.setdefault(ln.package_id, []).append(ln)
    cancelled = Counter(
        Waybill.objects.filter(package_id__in=ids, status=Waybill.Status.CANCELLED).values_list(
            "package_id", flat=True
        )
    )
    accounts: dict[tuple[int, str], WaybillAccount] = {}
    groups: dict[int, tuple[WaybillAccount, list[tuple[Package, WaybillRequest]]]] = {}
    for pid in ids:
        pkg = pkgs.get(pid)
        if pkg is None:
            batch.refused[pid] = ("not_found", f"包裹 {pid} 不存在")
        elif pid in actives:
            batch.already.append(actives[pid])
        elif pkg.status not in WAYBILL_OK:
            batch.refused[pid] = ("not_shippable", f"P{pid} 状态为 {pkg.get_status_display()}，不能取号")
        else:
            try:
                key = (pkg.shop_id, pkg.carrier)
                account = accounts[key] = accounts.get(key) or account_for(pkg)
                n = cancelled[pid]
                request = _request(pkg, account, orders.get(pid, []), lines.get(pid, []),
                                   f"ZSP{pid}" + (f"-{n}" if n else ""))  # fmt: skip
                groups.setdefault(account.pk, (account, []))[1].append((pkg, request))
            except ShippingError as exc:
                batch.refused[pid] = (exc.code, exc.detail)
    for account, items in groups.values():
        _issue_group(account, items, actor, batch)
    return batch


def _issue_group(account: WaybillAccount, items: list, actor: str, batch: WaybillBatch) -> None:
    from zhongshu.channels.base import ConnectorError

    code = account.provider
    try:
        service = providers.provider_for(code, plain_account(account), _connection(account, code))
    except (WaybillError, ConnectorError) as exc:
        for pkg, _ in items:
            batch.refused[pkg.pk] = (getattr(exc, "code", "") or "auth_failed", str(exc))
        return
    size = max(service.batch_size, 1)
    chunks = [items[start : start + size] for start in range(0, len(items), size)]

    def ask(chunk: list) -> dict:
        try:
            return {o.object_id: o for o in service.get([r for _, r in chunk])}
        except WaybillError as exc:  # a provider that refuses the whole call
            return {r.object_id: Outcome(r.object_id, error=exc) for _, r in chunk}

    # Provider calls (HTTP only, no database) run a few at a time; answers are stored here, in order.
    # Stored STORE_EVERY packages a transaction (one-package providers — JD, SF — would otherwise
    # commit once per package).
    pending: list = []
    answers: dict = {}
    with ThreadPoolExecutor(max_workers=min(PARALLEL_CALLS, len(chunks))) as pool:
        for chunk, outcomes in zip(chunks, pool.map(ask, chunks), strict=True):
            pending += chunk
            answers |= outcomes
            if len(pending) >= STORE_EVERY:
                _record(account, code, pending, answers, actor, batch)
                pending, answers = [], {}
    _record(account, code, pending, answers, actor, batch)


def _record(
    account: WaybillAccount, code: str, chunk: list, outcomes: dict, actor: str, batch: WaybillBatch
) -> None:
    done = [(pkg, r, outcomes[r.object_id].result) for pkg, r in chunk
            if r.object_id in outcomes and outcomes[r.object_id].result is not None]  # fmt: skip
    batch.issued += _store_many(account, code, done, actor)
    for pkg, request in chunk:
        outcome = outcomes.get(request.object_id)
        if outcome is None or outcome.result is None:
            exc = outcome.error if outcome else WaybillError(UNAVAILABLE, "面单服务没有回答这个包裹", True)
            _note(
                pkg,
                actor,
                "package.waybill_failed",
                f"取号失败 [{exc.code}] {exc.detail}",
                {"code": exc.code},
            )
            batch.refused[pkg.pk] = (exc.code, exc.detail)


def _store_many(account: WaybillAccount, code: str, done: list, actor: str) -> list[Waybill]:
    """One batch's numbers in one transaction (packages locked in pk order); a conflict (a concurrent
    request stored one first) falls back to storing them one by one."""
    if not done:
        return []
    try:
        with transaction.atomic():
            locked = {
                p.pk: p
                for p in Package.objects.select_for_update(of=("self",))
                .filter(pk__in=[p.pk for p, _, _ in done])
                .order_by("pk")
            }
            taken = set(
                Waybill.objects.filter(package_id__in=locked, status=Waybill.Status.ACTIVE).values_list(
                    "package_id", flat=True
                )
            )
            if taken:
                raise IntegrityError("a package got its waybill meanwhile")
            w = Writes(actor)
            rows = []
            for pkg, request, result in done:
                pkg = locked[pkg.pk]
                row = _waybill_row(pkg, account, code, result, request.object_id, actor)
                rows.append(row)
                if pkg.carrier != row.carrier:
                    pkg.carrier = row.carrier
                    pkg.save(update_fields=["carrier", "updated_at"])
                _issued_event(w, pkg, row, code)
            Waybill.objects.bulk_create(rows)
            w.flush()
            return rows
    except IntegrityError:
        return [
            _store(pkg.pk, account, code, result, request.object_id, actor) for pkg, request, result in done
        ]
