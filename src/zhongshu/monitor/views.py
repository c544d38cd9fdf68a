"""The admin home as a live dashboard: `dashboard_callback` fills the index page (Unfold's
DASHBOARD_CALLBACK), `live` serves the same figures as a fragment that the page fetches every 5 s."""

import json
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from zhongshu.core.timeutil import local, now
from zhongshu.monitor import selectors
from zhongshu.monitor.selectors import SHIP_FAILED_TOPIC, SHIP_FAILED_WINDOW
from zhongshu.orders.labels import hold_label
from zhongshu.orders.states import OrderStatus as S
from zhongshu.routing.address import PROVINCES

REFRESH_SECONDS = 5
DEGRADED_REFRESH_SECONDS = 60  # while the heavy figures are switched off under load (R-PEAK2)
# tile-grid map of China: canonical name → (row, column, short name, ISO 3166-2:CN code for English)
TILES = {
    "黑龙江省": (0, 7, "黑", "HL"), "内蒙古自治区": (1, 4, "蒙", "NM"), "北京市": (1, 5, "京", "BJ"), "辽宁省": (1, 6, "辽", "LN"),
    "吉林省": (1, 7, "吉", "JL"), "新疆维吾尔自治区": (2, 0, "新", "XJ"), "甘肃省": (2, 1, "甘", "GS"), "宁夏回族自治区": (2, 2, "宁", "NX"),
    "山西省": (2, 3, "晋", "SX"), "河北省": (2, 4, "冀", "HE"), "天津市": (2, 5, "津", "TJ"), "西藏自治区": (3, 0, "藏", "XZ"),
    "青海省": (3, 1, "青", "QH"), "陕西省": (3, 2, "陕", "SN"), "河南省": (3, 3, "豫", "HA"), "山东省": (3, 4, "鲁", "SD"),
    "四川省": (4, 1, "川", "SC"), "重庆市": (4, 2, "渝", "CQ"), "湖北省": (4, 3, "鄂", "HB"), "安徽省": (4, 4, "皖", "AH"),
    "江苏省": (4, 5, "苏", "JS"), "上海市": (4, 6, "沪", "SH"), "云南省": (5, 1, "滇", "YN"), "贵州省": (5, 2, "黔", "GZ"),
    "湖南省": (5, 3, "湘", "HN"), "江西省": (5, 4, "赣", "JX"), "浙江省": (5, 5, "浙", "ZJ"), "广西壮族自治区": (6, 2, "桂", "GX"),
    "广东省": (6, 3, "粤", "GD"), "福建省": (6, 4, "闽", "FJ"), "台湾省": (6, 5, "台", "TW"), "海南省": (7, 2, "琼", "HI"),
    "澳门特别行政区": (7, 3, "澳", "MO"), "香港特别行政区": (7, 4, "港", "HK"),
}  # fmt: skip
assert set(TILES) == set(PROVINCES)

BACKLOG_LABELS = {
    S.PAID: _("已付款待分仓"), S.BACKORDERED: _("缺货待补"), S.ON_HOLD: _("已挂起"),
    S.ALLOCATED: _("已分仓待拣货"), S.PICKING: _("拣货中"), S.PACKED: _("已打包待发货"),
}  # fmt: skip
SYNC_LABELS = {
    "ok": _("正常"),
    "late": _("延迟"),
    "failing": _("失败"),
    "breaker": _("已熔断"),
    "off": _("已停用"),
}


def _url(name: str, **params) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


def _orders_url(**params) -> str:
    return _url("admin:orders_order_changelist", **params)


def _context(at) -> dict:
    d = selectors.dashboard(at)
    day = local(d.day_start)
    today = {"placed_at__year": day.year, "placed_at__month": day.month, "placed_at__day": day.day}
    peak = max(d.provinces.values(), default=0)
    tiles = []
    chinese = (get_language() or "").startswith("zh")
    for name, (row, col, short, code) in TILES.items():
        n = d.provinces.get(name, 0)
        tiles.append({
            "key": name, "name": name if chinese else code, "short": short if chinese else code, "row": row + 1, "col": col + 1, "orders": n,
            "pct": 12 + 88 * n // peak if n else 0,
            "url": _orders_url(**today, receiver_province=name),
        })  # fmt: skip
    kpis = [
        {"key": "orders_today", "label": _("今日订单"), "value": d.orders_today, "url": _orders_url(**today)},
        {"key": "amount_today", "label": _("今日金额（元）"), "value": d.amount_today, "url": _orders_url(**today)},
        {"key": "unshipped", "label": _("已付款未发货"), "value": d.unshipped,
         "url": _orders_url(status__in=",".join(selectors.BACKLOG_STATUSES))},
        {"key": "shipped_today", "label": _("今日发货包裹"), "value": d.shipped_today,
         "url": _url("admin:fulfilment_package_changelist", shipped_at__gte=d.day_start.isoformat())},
        {"key": "alerts", "label": _("告警中"), "value": len(d.alerts),
         "url": _url("admin:notify_alertstate_changelist", firing__exact=1)},
    ]  # fmt: skip
    backlog = [
        {
            "key": s.value,
            "label": BACKLOG_LABELS[s],
            "value": d.backlog[s.value],
            "url": _orders_url(status__exact=s.value),
        }
        for s in selectors.BACKLOG_STATUSES
    ]
    backlog.insert(4, {
        "key": "packages_pending", "label": _("包裹待生成波次"), "value": d.packages_pending,
        "url": _url("admin:fulfilment_package_changelist", status__exact="pending"),
    })  # fmt: skip
    backlog.append({
        "key": "ship_failed", "label": _("发货回传失败（24 小时）"), "value": d.ship_failed, "danger": True,
        "url": _url("admin:core_outboxevent_changelist", topic__exact=SHIP_FAILED_TOPIC,
                    created_at__gte=(at - SHIP_FAILED_WINDOW).isoformat()),
    })  # fmt: skip
    hour_peak = max(d.hourly, default=0)
    return {
        "dash": d,
        "refresh_seconds": DEGRADED_REFRESH_SECONDS if d.degraded else REFRESH_SECONDS,
        "updated_at": local(at),
        "kpis": kpis,
        "backlog": backlog,
        "channels": [dict(r, url=_orders_url(**today, shop__platform__exact=r["platform"])) for r in d.by_channel],
        "holds": [dict(h, url=_url("exceptions:queue", code=h["code"]), label=hold_label(h["code"])) for h in d.holds],
        "hourly_json": json.dumps({"labels": [f"{h:02d}" for h in range(24)], "counts": d.hourly}),
        "hour_peak": hour_peak,
        "today_url": _orders_url(**today),
        "tiles": tiles,
        "sync": [dict(s, label=SYNC_LABELS[s["status"]],
                      url=reverse("admin:channels_syncstate_change", args=[s["state"].pk])) for s in d.sync],
        "alerts_url": _url("admin:notify_alertstate_changelist", firing__exact=1),
        "alerts": [{"state": a, "url": reverse("admin:notify_alertstate_change", args=[a.pk])} for a in d.alerts],
    }  # fmt: skip


def dashboard_callback(request, context: dict) -> dict:
    """Unfold's DASHBOARD_CALLBACK: the figures for the admin's index page."""
    context.update(_context(now()))
    return context


@require_GET
@staff_member_required
def live(request):
    """The dashboard's figures alone, fetched by the index page every REFRESH_SECONDS (htmx)."""
    return render(request, "monitor/figures.html", _context(now()))
