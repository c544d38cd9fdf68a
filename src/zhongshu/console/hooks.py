"""The order workbench's providers from the apps above orders (orders/workbench.py): search by package
number, the order's packages on its page, merge/split of its packages (fulfilment's services) and
re-push to the platform (channels' write-back)."""

import re

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhongshu.console.repush import failed_writebacks, request_repush
from zhongshu.core.roles import HANDLE_ORDERS
from zhongshu.fulfilment import domain
from zhongshu.fulfilment.models import Package, PackageOrder, Wave
from zhongshu.fulfilment.services import FloorError, merge_packages, split_package, unmerge_order
from zhongshu.orders import labels, workbench
from zhongshu.shipping.models import ShipConfirmation, Waybill

PACKAGE = re.compile(r"[Pp](\d{1,12})")
CHANGE_PACKAGE = "fulfilment.change_package"


def _by_package(term: str) -> Q | None:
    m = PACKAGE.fullmatch(term)
    return Q(pk__in=PackageOrder.objects.filter(package_id=int(m.group(1))).values("order_id")) if m else None


def _packages(order) -> list[Package]:
    return list(
        Package.objects.filter(package_orders__order=order).select_related("warehouse").order_by("pk")
    )


def _package_rows(order) -> list[dict]:
    return [
        {
            "label": str(p), "url": reverse("admin:fulfilment_package_change", args=[p.pk]),
            "status": p.get_status_display(),
            "detail": " · ".join(x for x in (p.warehouse.name, labels.carrier_label(p.carrier) if p.carrier else "") if x),
        }
        for p in _packages(order)
    ]  # fmt: skip


def _by_waybill(term: str) -> Q | None:
    """A waybill number (active or cancelled) finds the orders of its package."""
    if not term or len(term) > 64 or " " in term:
        return None
    packages = Waybill.objects.filter(waybill_no=term).values("package_id")
    return Q(pk__in=PackageOrder.objects.filter(package_id__in=packages).values("order_id"))


def _waybill_rows(order) -> list[dict]:
    """The order's waybills with their ship confirmation and the last tracking step."""
    confirmations = {c.waybill_id: c for c in ShipConfirmation.objects.filter(order=order)}
    rows = []
    waybills = Waybill.objects.filter(package__package_orders__order=order).select_related("package")
    for w in waybills.order_by("pk"):
        c = confirmations.get(w.pk)
        detail = [labels.carrier_label(w.carrier), w.get_provider_display()]
        if c is not None:
            detail.append(
                f"{_('发货回传')}：{c.get_status_display()}" + (f"（{c.last_error}）" if c.last_error else "")
            )
        rows.append({
            "label": w.waybill_no, "url": reverse("admin:shipping_waybill_change", args=[w.pk]),
            "status": w.get_status_display(), "detail": " · ".join(x for x in detail if x),
        })  # fmt: skip
    return rows


def _back(order):
    return redirect(reverse("admin:orders_order_change", args=[order.pk]))


def merge_split(request, order, site_context: dict):
    """GET: the order's packages with what can be done to each; POST: merge, split or unmerge."""
    if request.method == "POST":
        actor, pkg = request.user.get_username(), int(request.POST.get("package", "0") or 0)
        try:
            if request.POST.get("do") == "merge":
                others = [int(x) for x in request.POST.getlist("with") if x.isdigit()]
                merge_packages(pkg, others, actor)
            elif request.POST.get("do") == "unmerge":
                unmerge_order(pkg, order.pk, actor)
            elif request.POST.get("do") == "split":
                pkg_obj = Package.objects.get(pk=pkg)
                second = {
                    ln.sku.code: int(request.POST.get(f"q_{ln.pk}") or 0)
                    for ln in pkg_obj.lines.select_related("sku")
                }
                first = {}
                for ln in pkg_obj.lines.select_related("sku"):
                    first[ln.sku.code] = first.get(ln.sku.code, 0) + ln.quantity
                first = {s: q - second.get(s, 0) for s, q in first.items()}
                split_package(pkg, [first, {s: q for s, q in second.items() if q}], actor)
            else:
                raise FloorError("unknown", _("未知操作"))
        except (FloorError, Package.DoesNotExist, ValueError) as exc:
            messages.error(request, _("未完成：%(why)s") % {"why": exc})
        else:
            messages.success(request, _("包裹已更新"))
            return _back(order)
    packages = _packages(order)
    rows = []
    for p in packages:
        candidates = (
            Package.objects.filter(warehouse=p.warehouse, status__in=domain.MERGEABLE)
            .exclude(pk=p.pk)
            .filter(package_orders__order__receiver_address_hash=order.receiver_address_hash)
            .distinct()
            .order_by("pk")[:20]
            if p.status in domain.MERGEABLE
            else []
        )
        rows.append({
            "package": p, "lines": list(p.lines.select_related("sku")), "candidates": list(candidates),
            "splittable": p.status in domain.SPLITTABLE, "orders": p.package_orders.count(),
        })  # fmt: skip
    context = {**site_context, "title": _("合单/拆单"), "order": order, "rows": rows,
               "back": reverse("admin:orders_order_change", args=[order.pk])}  # fmt: skip
    return render(request, "console/merge_split.html", context)


def repush(request, order, site_context: dict):
    """GET: what failed to reach the platform; POST: send it again (background, audited)."""
    if request.method == "POST":
        n = request_repush(order, request.user.get_username())
        if n:
            messages.success(request, _("已安排重新回传 %(n)d 项") % {"n": n})
        else:
            messages.info(request, _("没有需要重新回传的内容"))
        return _back(order)
    context = {**site_context, "title": _("重新回传平台"), "order": order, "failed": failed_writebacks(order),
               "back": reverse("admin:orders_order_change", args=[order.pk])}  # fmt: skip
    return render(request, "console/repush.html", context)


# package and wave statuses read out in audit texts ("P3: pending → waved")
for choices in (Package.Status, Wave.Status):
    for value, label in choices.choices:
        labels.STATUS_LABELS.setdefault(value, label)

workbench.register_search("package", gettext_lazy("包裹号（P123）"), _by_package)
workbench.register_section("packages", gettext_lazy("包裹"), _package_rows)
workbench.register_action("merge_split", gettext_lazy("合单/拆单"), CHANGE_PACKAGE, merge_split)
workbench.register_action("repush", gettext_lazy("重新回传平台"), HANDLE_ORDERS, repush)
workbench.register_search("waybill", gettext_lazy("运单号"), _by_waybill)
workbench.register_section("waybills", gettext_lazy("运单与物流"), _waybill_rows)
