"""The warehouse floor's phone pages (/pda/, 360 px wide): sign in, open waves, claim one, walk its pick
list location by location with a handheld scanner (keyboard wedge: the code then Enter into the focused
input), report a shortage, finish; and the packing bench (/pda/pack/, desktop and phone): scan the
package, each unit, then the weight.

Every action goes through fulfilment.services (which audit); these views only read and ask. Forms
post normally; with htmx (Unfold's copy) only the panel is swapped, so the page keeps its sound and
focus. Picking needs fulfilment.change_wave, packing fulfilment.change_package (the 仓库 role).
A floor user works in the warehouses of their 仓库人员 row (admin): the wave list shows and lets
claim only those warehouses' waves (with a switch when there are several), the packing page finds
only their packages; without one the pages say so. Superusers and 所有仓库 see every warehouse.
"""

import re
from functools import wraps

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods, require_POST

from zhongshu.fulfilment import domain, selectors, services
from zhongshu.fulfilment.models import Package, Wave
from zhongshu.inventory.models import Warehouse

PICK, PACK = "fulfilment.change_wave", "fulfilment.change_package"
LOGIN = reverse_lazy("pda:login")
MAX_SCANS = 500  # one package's scans kept in the form between requests
WEIGHT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kg|g|克|千克|公斤)?\s*$", re.IGNORECASE)


def _actor(request: HttpRequest) -> str:
    return f"pda:{request.user.get_username()}"


def _needs(perm: str):
    """Signed in (else the PDA's sign-in page) and holding `perm` (else the PDA's 403 page)."""

    def decorate(view):
        @wraps(view)
        @login_required(login_url=LOGIN)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                return render(request, "fulfilment/pda/forbidden.html", {"title": _("无权限")}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


class PdaLoginView(auth_views.LoginView):
    """Django's sign-in (authenticate() runs through axes: a locked-out user gets the lockout page)."""

    template_name = "fulfilment/pda/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("pda:waves")


def logout(request: HttpRequest) -> HttpResponse:
    return auth_views.LogoutView.as_view(next_page=LOGIN)(request)


# --- picking ------------------------------------------------------------------------------------


NO_WAREHOUSE = _lazy("你的账号还没有分配仓库，请联系管理员在后台「仓库人员」中设置")


def _warehouses(request: HttpRequest) -> frozenset[int] | None:
    """The ids of the warehouses this user works in (None = all), read once per request."""
    if not hasattr(request, "_floor_warehouses"):
        request._floor_warehouses = selectors.staff_warehouses(request.user)
    return request._floor_warehouses


@require_http_methods(["GET"])
@_needs(PICK)
def waves(request: HttpRequest) -> HttpResponse:
    """Open waves (of the chosen warehouse, among the user's) and the ones this user is picking."""
    mine = _warehouses(request)
    houses = Warehouse.objects.filter(active=True).order_by("priority", "code")
    houses = list(houses if mine is None else houses.filter(pk__in=mine))
    code = request.GET.get("warehouse") or request.session.get("pda_warehouse") or ""
    chosen = next((w for w in houses if w.code == code), None)
    request.session["pda_warehouse"] = chosen.code if chosen else ""
    context = {
        "title": _("拣货波次"),
        "warehouses": houses,
        "chosen": chosen,
        "no_warehouse": NO_WAREHOUSE if not houses and mine is not None else "",
        "waves": selectors.open_waves(chosen.pk if chosen else None, request.user, mine),
        "can_pack": request.user.has_perm(PACK),
        "error": request.session.pop("pda_error", ""),
        "done": request.session.pop("pda_done", ""),
    }
    return render(request, "fulfilment/pda/waves.html", context)


@require_POST
@_needs(PICK)
def claim(request: HttpRequest, wave_id: int) -> HttpResponse:
    mine = _warehouses(request)
    wave = get_object_or_404(Wave.objects.select_related("warehouse"), pk=wave_id)
    if mine is not None and wave.warehouse_id not in mine:
        request.session["pda_error"] = _("波次 W%(id)s 属于仓库 %(warehouse)s，不是你的仓库") % {
            "id": wave.pk,
            "warehouse": wave.warehouse.name,
        }
        return redirect("pda:waves")
    try:
        services.claim_wave(wave_id, request.user, _actor(request))
    except services.FloorError as e:
        request.session["pda_error"] = e.detail
        return redirect("pda:waves")
    return redirect("pda:pick", wave_id=wave_id)


def _pick_context(wave: Wave, at: int | None = None, feedback: str = "", message: str = "") -> dict:
    rows = list(wave.pick_rows.select_related("sku").order_by("position"))
    current = next((r for r in rows if r.picked < r.quantity), None)
    # the location is asked first; a row without one (货位 not set) goes straight to the SKU
    located = current is not None and (not current.location or at == current.pk)
    total = sum(r.quantity for r in rows)
    picked = sum(min(r.picked, r.quantity) for r in rows)
    return {
        "title": _("拣货 W%(id)s") % {"id": wave.pk},
        "wave": wave,
        "rows": rows,
        "current": current,
        "located": located,
        "total": total,
        "picked": picked,
        "percent": round(100 * picked / total) if total else 100,
        "short": sum(r.short for r in rows),
        "remaining": current.quantity - current.picked if current else 0,
        "feedback": feedback,
        "message": message,
    }


def _pick_page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = "fulfilment/pda/_pick_panel.html" if _htmx(request) else "fulfilment/pda/pick.html"
    return render(request, template, context, status=status)


def _my_wave(request: HttpRequest, wave_id: int) -> Wave | HttpResponse:
    wave = get_object_or_404(Wave.objects.select_related("warehouse"), pk=wave_id)
    if wave.status != Wave.Status.CLAIMED or wave.picker_id != request.user.pk:
        request.session["pda_error"] = _("波次 W%(id)s 不在你的拣货中") % {"id": wave.pk}
        return redirect("pda:waves")
    return wave


@require_http_methods(["GET"])
@_needs(PICK)
def pick(request: HttpRequest, wave_id: int) -> HttpResponse:
    wave = _my_wave(request, wave_id)
    if isinstance(wave, HttpResponse):
        return wave
    return _pick_page(request, _pick_context(wave))


@require_POST
@_needs(PICK)
def pick_scan(request: HttpRequest, wave_id: int) -> HttpResponse:
    """One scan: the current row's location, then its SKU (barcode or merchant code; `code*n` for n)."""
    wave = _my_wave(request, wave_id)
    if isinstance(wave, HttpResponse):
        return wave
    entry = (request.POST.get("code") or "").strip()[:200]
    at = request.POST.get("at", "")
    at = int(at) if at.isdigit() else None
    ctx = _pick_context(wave, at)
    current = ctx["current"]
    if not entry or current is None:
        return _pick_page(request, ctx)
    if not ctx["located"]:
        if domain.normalize_code(entry).upper() == domain.normalize_code(current.location).upper():
            return _pick_page(request, _pick_context(wave, current.pk, "ok", _("货位正确，请扫商品")))
        msg = _("货位不对：扫到 %(got)s，应到 %(want)s") % {"got": entry, "want": current.location}
        return _pick_page(request, {**ctx, "feedback": "error", "message": msg}, status=422)
    code, count = domain.parse_scan(entry)
    if selectors.sku_of_code(code) != current.sku.code:
        msg = _("商品不对：%(got)s 不是 %(want)s") % {"got": entry, "want": current.sku.code}
        return _pick_page(request, {**ctx, "feedback": "error", "message": msg}, status=422)
    try:
        row = services.record_pick(wave.pk, current.sku.code, count, _actor(request))
    except services.FloorError as e:
        return _pick_page(request, {**ctx, "feedback": "error", "message": e.detail}, status=422)
    msg = _("%(sku)s 已拣 %(picked)s/%(quantity)s") % {
        "sku": row.sku.code,
        "picked": row.picked,
        "quantity": row.quantity,
    }
    return _pick_page(request, _pick_context(wave, current.pk, "ok", msg))


@require_POST
@_needs(PICK)
def pick_shortage(request: HttpRequest, wave_id: int) -> HttpResponse:
    """The location has fewer units: the packages needing them are stopped, a recount is asked."""
    wave = _my_wave(request, wave_id)
    if isinstance(wave, HttpResponse):
        return wave
    ctx = _pick_context(wave)
    current = ctx["current"]
    missing = request.POST.get("missing", "")
    if current is None or not missing.isdigit():
        return _pick_page(request, {**ctx, "feedback": "error", "message": _("请输入缺少的件数")}, 422)
    try:
        stopped = services.report_shortage(wave.pk, current.sku.code, int(missing), _actor(request))
    except services.FloorError as e:
        return _pick_page(request, {**ctx, "feedback": "error", "message": e.detail}, status=422)
    msg = _("已报缺货：%(sku)s 少 %(n)s 件，拦截包裹 %(packages)s，已通知盘点货位 %(location)s") % {
        "sku": current.sku.code,
        "n": missing,
        "packages": "、".join(f"P{p.pk}" for p in stopped) or "—",
        "location": current.location or "—",
    }
    return _pick_page(request, _pick_context(wave, None, "warn", msg))


@require_POST
@_needs(PICK)
def pick_finish(request: HttpRequest, wave_id: int) -> HttpResponse:
    wave = _my_wave(request, wave_id)
    if isinstance(wave, HttpResponse):
        return wave
    try:
        services.finish_wave(wave.pk, _actor(request))
    except services.FloorError as e:
        return _pick_page(request, {**_pick_context(wave), "feedback": "error", "message": e.detail}, 422)
    request.session["pda_done"] = _("波次 W%(id)s 拣货完成") % {"id": wave.pk}
    if _htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("pda:waves")
        return response
    return redirect("pda:waves")


# --- packing (验货 + 称重) ---------------------------------------------------------------------


def parse_weight(text: str) -> int | None:
    """Grams from what a packer types or a scale sends: `1234`, `1234g`, `1.234 kg`."""
    m = WEIGHT.match(text or "")
    if not m:
        return None
    value = float(m.group(1)) * (1000 if (m.group(2) or "").lower() in ("kg", "千克", "公斤") else 1)
    return round(value) if value < 10_000_000 else None


def _countable(entry: str) -> bool:
    return bool(entry.strip()) and domain.parse_scan(entry)[1] >= 1


def _pack_context(pkg: Package | None, scans: list[str], **extra) -> dict:
    lines, scanned = [], {}
    if pkg is not None:
        expected: dict[str, int] = {}
        for ln in pkg.lines.select_related("sku").order_by("pk"):
            expected[ln.sku.code] = expected.get(ln.sku.code, 0) + ln.quantity
        session = domain.ScanSession(expected, selectors.barcodes(expected))
        for entry in scans:
            session.scan(*domain.parse_scan(entry))
        scanned = session.scanned
        lines = [{"sku": s, "quantity": q, "scanned": scanned.get(s, 0)} for s, q in expected.items()]
    complete = bool(lines) and all(ln["scanned"] >= ln["quantity"] for ln in lines)
    return {
        # the weight step: the packer may pick another box (预计 = goods + the box chosen)
        "packagings": selectors.active_packagings() if complete else [],
        "goods_g": pkg.expected_weight_g - (pkg.packaging.weight_g if pkg.packaging_id else 0) if pkg else 0,
        "title": _("验货称重"),
        "package": pkg,
        "scans": "\n".join(scans),
        "lines": lines,
        "complete": complete,
        "units": sum(ln["quantity"] for ln in lines),
        "done": sum(ln["scanned"] for ln in lines),
        "feedback": "",
        "message": "",
        "result": None,
        **extra,
    }


def _pack_page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = "fulfilment/pda/_pack_panel.html" if _htmx(request) else "fulfilment/pda/pack.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@_needs(PACK)
def pack(request: HttpRequest) -> HttpResponse:
    """One form, three steps kept in hidden fields: the package, its units, the weight."""
    mine = _warehouses(request)
    if mine is not None and not mine:
        return _pack_page(request, _pack_context(None, [], feedback="error", message=NO_WAREHOUSE))
    if request.method == "GET":
        return _pack_page(request, _pack_context(None, []))
    entry = (request.POST.get("code") or "").strip()[:200]
    pid = request.POST.get("package", "")
    packages = Package.objects.all() if mine is None else Package.objects.filter(warehouse_id__in=mine)
    pkg = packages.filter(pk=int(pid)).first() if pid.isdigit() else None
    scans = [s for s in (request.POST.get("scans") or "").split("\n") if _countable(s)][:MAX_SCANS]
    if pkg is None:  # step 1: the package (its id or one of its orders' ids)
        if not entry:
            return _pack_page(request, _pack_context(None, []))
        found = selectors.package_of_scan(entry, mine)
        if found is None:
            msg = _("找不到包裹：%(code)s") % {"code": entry}
            return _pack_page(request, _pack_context(None, [], feedback="error", message=msg), 422)
        if found.status not in domain.CHECKABLE:
            msg = _("P%(id)s 状态为 %(status)s，不能验货") % {
                "id": found.pk,
                "status": found.get_status_display(),
            }
            return _pack_page(request, _pack_context(None, [], feedback="error", message=msg), 422)
        return _pack_page(request, _pack_context(found, [], feedback="ok", message=_("请逐件扫描商品")))
    ctx = _pack_context(pkg, scans)
    if not entry:
        return _pack_page(request, ctx)
    if not ctx["complete"]:  # step 2: one more unit (or `code*n`)
        if not _countable(entry):
            return _pack_page(request, {**ctx, "feedback": "error", "message": _("数量至少为 1")}, 422)
        result = services.check_scans(pkg.pk, [*scans, entry], _actor(request))
        if not result.ok:
            return _pack_page(request, {**ctx, "feedback": "error", "message": result.detail}, 422)
        ctx = _pack_context(pkg, [*scans, entry], feedback="ok")
        ctx["message"] = _("请称重") if ctx["complete"] else _("已扫 %(done)s/%(units)s") % ctx
        return _pack_page(request, ctx)
    if selectors.sku_of_code(domain.parse_scan(entry)[0]):  # a unit scanned when all are in: surplus
        result = services.check_scans(pkg.pk, [*scans, entry], _actor(request))
        return _pack_page(request, {**ctx, "feedback": "error", "message": result.detail}, 422)
    weight = parse_weight(entry)  # step 3: the weight, typed or sent by the scale
    if weight is None:
        msg = _("重量无法识别：%(text)s（输入克数，如 1250）") % {"text": entry}
        return _pack_page(request, {**ctx, "feedback": "error", "message": msg}, 422)
    try:
        result = services.check_package(
            pkg.pk, scans, weight, _actor(request), request.POST.get("packaging") or None
        )
    except services.FloorError as e:
        return _pack_page(request, {**ctx, "feedback": "error", "message": e.detail}, 422)
    pkg.refresh_from_db()
    outcome = {
        "ok": result.ok,
        "code": result.code,
        "detail": result.detail,
        "expected": pkg.expected_weight_g,
        "measured": weight,
    }
    return _pack_page(
        request,
        {**ctx, "result": outcome, "feedback": "ok" if result.ok else "error"},
        200 if result.ok else 422,
    )
