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
    }
    ctx = {
        **admin.site.each_context(request),
        "title": _("KPI 报表"),
        "report": rep,
        "first": first,
        "last": last,
        "errors": errors,
        "periods": list(kpi.PERIODS.items()),
        "columns": kpi.COLUMNS,
        "table": [[getattr(r, attr) for attr, _label in kpi.COLUMNS] for r in rows],
        "chart": chart,
        "definitions": kpi.DEFINITIONS,
        "xlsx_query": request.GET.urlencode(),
    }
    return render(request, "monitor/kpi.html", ctx)


@require_GET
@staff_member_required
def kpi_xlsx(request: HttpRequest) -> HttpResponse:
    rep, first, last, _errors = _report(request)
    response = HttpResponse(
        kpi.workbook(rep), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="kpi-{rep.period}-{first}-{last}.xlsx"'
    return response
