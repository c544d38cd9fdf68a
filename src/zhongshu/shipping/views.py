"""The outbound scan (出库扫描) and the label printing pages of the warehouse floor (included under
/pda/ship/, for the PDA and the desktop at the door): the look, sign-in, sound and scan queue are the
PDA's (fulfilment's base template and pda.js).

- /pda/ship/ : scan a label's waybill barcode (keyboard wedge: the number then Enter) → the package
  ships (shipping.services.ship_package); loud colour and sound; the orders and the count shipped
  in this browser session. Needs shipping.ship_package.
- /pda/ship/print/?wave=W12 or ?package=P34 : the labels of a wave or a package, printed through the
  platform's print component (static shipping/print.js) or opened as zhongshu's PDF; waybills missing
  can be taken here. Needs shipping.add_waybill.
- The label PDFs and the printed/failed report for the signed-in console (the API has the same for
  tokens: GET /api/v1/packages/{id}/label.pdf, POST /api/v1/packages/{id}/printed).
"""

import json

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from zhongshu.fulfilment.common import FloorError
from zhongshu.fulfilment.models import Package
from zhongshu.fulfilment.views import _actor, _htmx, _needs
from zhongshu.shipping import labels, printing, services

SHIP, ISSUE = "shipping.ship_package", "shipping.add_waybill"
SESSION = "ship_session"
RECENT = 8  # scans listed under the input


# --- the outbound scan ------------------------------------------------------------------------


def _tally(request: HttpRequest) -> dict:
    return request.session.get(SESSION) or {"count": 0, "recent": []}


def _ship_page(request: HttpRequest, feedback: str = "", message: str = "", result=None, status: int = 200):
    tally = _tally(request)
    context = {
        "title": _("出库扫描"),
        "feedback": feedback,
        "message": message,
        "result": result,
        "count": tally["count"],
        "recent": tally["recent"],
        "can_print": request.user.has_perm(ISSUE),
    }
    template = "shipping/_ship_panel.html" if _htmx(request) else "shipping/ship.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@_needs(SHIP)
def ship(request: HttpRequest) -> HttpResponse:
    """One scan: the waybill number on the label. A package scanned twice is not shipped twice."""
    if request.method == "GET":
        return _ship_page(request)
    code = (request.POST.get("code") or "").strip()[:64]
    if not code:
        return _ship_page(request)
    try:
        shipped = services.ship_package(services.package_for_waybill(code), _actor(request))
    except FloorError as e:
        if e.code == "not_found":
            message = _("找不到运单号 %(code)s（面单已取消或不是本系统的面单）") % {"code": code}
        else:
            message = e.detail
        return _ship_page(request, "error", message, status=422)
    pkg, waybill = shipped.package, shipped.waybill
    orders = [
        {"shop": o.shop.name, "channel_order_id": o.channel_order_id, "status": o.get_status_display()}
        for o in pkg.orders.select_related("shop").order_by("pk")
    ]
    result = {
        "package": pkg.pk,
        "waybill_no": waybill.waybill_no,
        "carrier": waybill.get_carrier_display(),
        "orders": orders,
        "already": shipped.already,
    }
    if shipped.already:
        return _ship_page(request, "warn", _("P%(id)s 已出库过，无需重复扫描") % {"id": pkg.pk}, result)
    tally = _tally(request)
    tally["count"] += 1
    tally["recent"] = [
        {
            "package": pkg.pk,
            "waybill_no": waybill.waybill_no,
            "orders": [o["channel_order_id"] for o in orders],
        },
        *tally["recent"],
    ][:RECENT]
    request.session[SESSION] = tally
    message = _("已出库 P%(id)s · %(carrier)s %(number)s") % {
        "id": pkg.pk,
        "carrier": result["carrier"],
        "number": waybill.waybill_no,
    }
    return _ship_page(request, "ok", message, result)


@require_POST
@_needs(SHIP)
def ship_reset(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION, None)
    return redirect("ship:scan")


# --- printing -------------------------------------------------------------------------------------


def _number(text: str, prefix: str) -> int | None:
    text = (text or "").strip().upper().removeprefix(prefix)
    return int(text) if text.isdigit() else None


def _print_target(request: HttpRequest) -> tuple[str, int | None]:
    wave = _number(request.GET.get("wave", ""), "W")
    if wave is not None:
        return "wave", wave
    return "package", _number(request.GET.get("package", ""), "P")


def _packages(kind: str, pk: int) -> list[Package]:
    if kind == "wave":
        return printing.wave_packages(pk)
    return list(Package.objects.filter(pk=pk))


def _texts() -> dict:
    """What print.js shows, in the page's language (the .po files hold both)."""
    return {
        "connecting": _("正在连接%(name)s…"),
        "connected": _("已连接%(name)s（%(n)s 台打印机）"),
        "absent": _("未检测到%(name)s，打印将打开 PDF 面单"),
        "pdf": _("使用 PDF 面单（浏览器打印）"),
        "printing": _("打印中…"),
        "sent": _("已发送到打印组件，等待结果…"),
        "printed": _("已打印"),
        "failed": _("打印失败：%(detail)s"),
        "noResult": _("已发送，未收到打印结果"),
        "pdfOpened": _("已打开 PDF 面单，打印后请点“已打印”"),
        "markPrinted": _("已打印"),
        "noPrinter": _("请先选择打印机"),
        "noWaybill": _("还没有面单"),
        "reportFailed": _("打印结果未能回传：%(detail)s"),
        "components": {
            "cainiao": _("菜鸟打印组件"),
            "pdd": _("拼多多打印组件"),
            "douyin": _("抖店打印组件"),
            "kuaishou": _("快手打印组件"),
            "jd": _("京东打印组件"),
        },
    }


@require_http_methods(["GET"])
@_needs(ISSUE)
def print_page(request: HttpRequest) -> HttpResponse:
    kind, pk = _print_target(request)
    context = {"title": _("打印面单"), "kind": kind, "pk": pk, "jobs": [], "sizes": list(labels.SIZES)}
    if pk is None:
        return render(request, "shipping/print.html", context)
    try:
        packages = _packages(kind, pk)
    except FloorError as e:
        return render(request, "shipping/print.html", {**context, "error": e.detail}, status=404)
    jobs = printing.print_jobs(packages)
    for job in jobs:
        job["pdf_url"] = reverse("ship:label_pdf", args=[job["package"]])
        job["report_url"] = reverse("ship:printed", args=[job["package"]])
    context.update(
        jobs=jobs,
        missing=sum(1 for j in jobs if not j["waybill_no"]),
        batch_pdf=reverse("ship:wave_pdf", args=[pk]) if kind == "wave" else "",
        texts=_texts(),
        error=request.session.pop("ship_print_error", ""),
        done=request.session.pop("ship_print_done", ""),
    )
    return render(request, "shipping/print.html", context)


@require_POST
@_needs(ISSUE)
def take_waybills(request: HttpRequest) -> HttpResponse:
    """取号 for the listed packages that have no waybill yet (one provider call each, outside any
    transaction; the same package asking again gets the same number)."""
    kind, pk = _print_target(request)
    back = f"{reverse('ship:print')}?{kind}={pk}"
    if pk is None:
        return redirect("ship:print")
    taken, refused = 0, []
    try:
        packages = _packages(kind, pk)
    except FloorError as e:
        request.session["ship_print_error"] = e.detail
        return redirect(back)
    for pkg in packages:
        if services.active_waybill(pkg.pk) is not None:
            continue
        try:
            services.issue_waybill(pkg.pk, _actor(request))
            taken += 1
        except FloorError as e:
            refused.append(e.detail)
    if refused:
        request.session["ship_print_error"] = "；".join(refused[:5])
    if taken:
        request.session["ship_print_done"] = _("已取号 %(n)s 个包裹") % {"n": taken}
    return redirect(back)


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # an own-shop label carries the receiver in clear
    return response


def _label(request: HttpRequest, make, pk: int) -> HttpResponse:
    """A label PDF (make: printing.package_pdf or wave_pdf), or the page saying why not."""
    try:
        content, filename = make(pk, request.user, request.GET.get("size") or labels.DEFAULT_SIZE)
    except PermissionDenied:
        detail, status = _("自有商城订单的面单印有收货人明文，需要“查看收货人明文”权限"), 403
    except FloorError as e:
        detail, status = e.detail, 404 if e.code == "not_found" else 409
    except ValueError as e:  # an unknown size
        detail, status = str(e), 422
    else:
        return pdf_response(content, filename)
    context = {"title": _("无法打印面单"), "detail": detail}
    return render(request, "shipping/refused.html", context, status=status)


@require_http_methods(["GET"])
@_needs(ISSUE)
def label_pdf(request: HttpRequest, package_id: int) -> HttpResponse:
    return _label(request, printing.package_pdf, package_id)


@require_http_methods(["GET"])
@_needs(ISSUE)
def wave_pdf(request: HttpRequest, wave_id: int) -> HttpResponse:
    return _label(request, printing.wave_pdf, wave_id)


@require_POST
@_needs(ISSUE)
def printed(request: HttpRequest, package_id: int) -> JsonResponse:
    """print.js reports the component's result: JSON {status: printed|failed, printer, detail}."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"code": "invalid_json", "detail": "body must be a JSON object"}, status=400)
    try:
        waybill = printing.record_print(
            package_id,
            str(body.get("status", "")),
            str(body.get("printer", "")),
            str(body.get("detail", "")),
            _actor(request),
        )
    except FloorError as e:
        return JsonResponse(
            {"code": e.code, "detail": e.detail}, status=404 if e.code == "not_found" else 409
        )
    stamp = waybill.printed_at
    return JsonResponse(
        {"waybill_no": waybill.waybill_no, "printed_at": stamp.isoformat() if stamp else None}
    )
