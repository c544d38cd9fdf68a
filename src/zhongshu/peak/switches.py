"""The switches of non-core work (R-PEAK2), and the core work that never gets one.

Who obeys which switch (each asks `zhongshu.core.degrade.is_on(name)`):
- dashboard_heavy: the dashboard's per-hour chart and province map (monitor/selectors.py); the live
  page refreshes every 60 s instead of 5 s while off.
- webhooks_noncritical: deliveries to subscribers not marked critical wait (webhooks/dispatch.py);
  they stay pending and go out once the switch is on again.
- analytics_refresh, marketing_triggers, recommendations: registered for the work that will obey
  them (none is built yet), so the console already shows and audits them.
"""

from django.utils.translation import gettext_lazy as _

SWITCHES = {
    "dashboard_heavy": _("仪表盘重查询"),
    "analytics_refresh": _("分析报表刷新"),
    "marketing_triggers": _("营销触发"),
    "recommendations": _("推荐计算"),
    "webhooks_noncritical": _("非关键订阅推送"),
}

# the load signals the policy watches (peak/signals.py)
SIGNALS = {
    "backlog": _("积压"),
    "intake_p95_ms": _("接单 p95（毫秒）"),
    "load_per_cpu": _("每核负载"),
}

# never switched off, whatever the load (a test checks that none of them is a switch)
CORE_WORK = ("order_intake", "payment_confirmation", "allocation", "shipping")


def label(name: str) -> str:
    return str(SWITCHES.get(name, name))
