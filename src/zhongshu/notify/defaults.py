"""The shipped alert rules, shared by the data migration and fresh test databases."""

from decimal import Decimal

# (name, metric, comparison, threshold, window minutes, cooldown minutes); the names carry no
# threshold, which is edited in the console and shown in every notice
RULES = [
    ("待发货订单积压（已付款未发货）", "pending_orders", "gt", Decimal(800), 60, 30),
    ("退货率上升（近24小时较7日基线）", "return_rate_rise", "gt", Decimal(20), 1440, 120),
    ("店铺同步延迟", "sync_lag_minutes", "gt", Decimal(30), 60, 30),
    ("后台队列积压", "queue_backlog", "gt", Decimal(1000), 60, 30),
    ("发货回传失败（近1小时）", "ship_confirm_failures", "gt", Decimal(0), 60, 60),
]


def seed(AlertRule) -> None:  # noqa: N803 - a model class
    """Create the shipped rules that are missing (by name); rules edited in the console are kept."""
    for name, metric, comparison, threshold, window, cooldown in RULES:
        AlertRule.objects.get_or_create(
            name=name,
            defaults={"metric": metric, "comparison": comparison, "threshold": threshold,
                      "window_minutes": window, "cooldown_minutes": cooldown},
        )  # fmt: skip
