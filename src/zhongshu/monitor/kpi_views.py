"""The KPI report page (R-MON3) and its Excel download: /admin/dashboard/kpi/?period=day|week&from=&to=."""

from datetime import date, timedelta

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from zhongshu.core.timeutil import local_day, now
from zhongshu.monitor import kpi

PERMISSION = "monitor.view_kpi_report"
DEFAULT_SPAN = {"day": 14, "week": 56}  # days shown when no range is given
MAX_DAYS = 366


def _range(params, period: str, today: date) -> tuple[date, date, list[str]]:
    """The report's first and last day, with the errors of a bad range (named by field)."""
    errors = []
    parsed = {}
    for name in ("from", "to"):
        raw = (params.get(name) or "").strip()
        try:
            parsed[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors.append(_("%(field)s：日期格式应为 YYYY-MM-DD") % {"field": name})
            parsed[name] = None
    last = parsed["to"] or today
    first = parsed["from"] or last - timedelta(days=DEFAULT_SPAN[period] - 1)
    if first > last:
        errors.append(_("from：开始日期不能晚于结束日期"))
        first = last
    if (last - first).days >= MAX_DAYS:
        errors.append(_("from：范围最长 %(n)d 天") % {"n": MAX_DAYS})
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last, errors


def _report(request: HttpRequest):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    period = request.GET.get("period") or "day"
    if period not in kpi.PERIODS:
        period = "day"
    at = now()
    first, last, errors = _range(request.GET, period, local_day(at))
    return kpi.report(period, first, last, at), first, last, errors


@require_GET
@staff_member_required
def kpi_page(request: HttpRequest) -> HttpResponse:
    rep, first, last, errors = _report(request)
    rows = [*rep.rows, rep.total]
    chart = {
        "labels": [r.label for r in rep.rows],
        "shipped_avg": [r.shipped_avg_h for r in rep.rows],
        "shipped_p90": [r.shipped_p90_h for r in rep.rows],
        "packed_avg": [r.packed_avg_h for r in rep.rows],
        "packed_p90": [r.packed_p90_h for r in rep.rows],
        "availability": [r.availability_pct for r in rep.rows],
        "error_rate": [r.error_rate_pct for r in rep.rows],
        "labour": [r.labour_per_100 for r in rep.rows],
        "names": {key: str(label) for key, label in kpi.COLUMNS},
    }
    ctx = {
        **admin.site.each_context(request),
        "title": _("KPI 报表"),
        "report": rep,
        "first": first,
        "last": last,
        "errors": errors,
        "periods": list(kpi.PERIODS.items()),
        # on screen the metrics are the rows and the periods the columns (the Excel has one row a period)
        "periods_head": [(_short(rep.period, r.label), r.label) for r in rep.rows],
        "table": [(attr, label, [getattr(r, attr) for r in rows]) for attr, label in kpi.COLUMNS[1:]],
        "tiles": _tiles(rep.total),
        "chart": chart,
        "definitions": kpi.DEFINITIONS,
        "xlsx_query": request.GET.urlencode(),
    }
    return render(request, "monitor/kpi.html", ctx)


def _short(period: str, label: str) -> str:
    """A column head: 11-24 for a day, W48 for a week."""
    return label[5:] if period == "day" else label.split("-", 1)[1]


def _tiles(t: kpi.KpiRow) -> list[dict]:
    """The range's headline figures."""

    def num(value, unit: str = "") -> str:
        return "-" if value is None else f"{value}{unit}"

    return [
        {"key": "packed", "label": _("付款→打包 平均 / P90"), "value": f"{num(t.packed_avg_h)} / {num(t.packed_p90_h)}",
         "note": _("小时，%(n)d 个包裹") % {"n": t.packed}},
        {"key": "shipped", "label": _("付款→发货 平均 / P90"), "value": f"{num(t.shipped_avg_h)} / {num(t.shipped_p90_h)}",
         "note": _("小时，%(n)d 个包裹") % {"n": t.shipped}},
        {"key": "errors", "label": _("错漏发拦截率"), "value": num(t.error_rate_pct, "%"),
         "note": _("验货 %(c)d 个包裹，发现 %(e)d 个") % {"c": t.checked, "e": t.check_errors}},
        {"key": "availability", "label": _("可用率（大促期间）"),
         "value": f"{num(t.availability_pct, '%')} ({num(t.peak_availability_pct, '%')})",
         "note": _("%(m)d 分钟采样") % {"m": t.minutes}},
        {"key": "labour", "label": _("每百单人工操作"), "value": num(t.labour_per_100),
         "note": _("%(a)d 次操作，%(o)d 单") % {"a": t.manual_actions, "o": t.orders}},
        {"key": "intercepted", "label": _("拦截订单 / 避免损失"), "value": f"{t.intercepted} / {t.avoided_amount}",
         "note": _("拦截金额 %(v)s 元，拦截包裹 %(p)d 个") % {"v": t.intercepted_amount, "p": t.stopped_packages}},
    ]  # fmt: skip


@require_GET
@staff_member_required
def kpi_xlsx(request: HttpRequest) -> HttpResponse:
    rep, first, last, _errors = _report(request)
    response = HttpResponse(
        kpi.workbook(rep), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="kpi-{rep.period}-{first}-{last}.xlsx"'
    return response
