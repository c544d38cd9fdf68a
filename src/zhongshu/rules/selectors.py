"""Reads of the rules engine: counted history facts (indexed queries), active rules, listings."""

from datetime import datetime, time, timedelta

from django.db.models import QuerySet

from zhongshu.core.pii import address_hash, phone_hash
from zhongshu.core.timeutil import SHANGHAI, local_day
from zhongshu.orders.models import Order
from zhongshu.orders.review import OrderInfo
from zhongshu.rules.facts import History
from zhongshu.rules.models import Rule, RuleSet, RuleVersion, RuntimeState, Stage

ID_TODAY = "orders_same_id_number_today"
PHONE_HOURS = "orders_same_phone_hours"
ADDRESS_HOURS = "orders_same_address_hours"
RULE_FIELDS = ("id", "code", "name", "version", "priority", "condition", "actions", "dry_run", "peak_only")


def runtime() -> tuple[str, bool]:
    """(stamp, peak_mode): one primary-key read; the stamp changes on every rule or switch change."""
    row = RuntimeState.objects.filter(pk=1).values_list("stamp", "peak_mode").first()
    return row if row else ("", False)


def active_rules(stage: str = Stage.REVIEW) -> list[dict]:
    """Enabled rules of enabled rule sets of a stage, in priority order, as plain dicts."""
    qs = Rule.objects.filter(enabled=True, rule_set__enabled=True, rule_set__stage=stage)
    return list(qs.order_by("priority", "code").values(*RULE_FIELDS))


def history(order: OrderInfo, needs: frozenset) -> History:
    """Counts for the history facts the active rules read; each includes the order itself."""
    same_id = None
    phone: dict[int, int] = {}
    address: dict[int, int] = {}
    for fact, param in needs:
        if fact == ID_TODAY and order.id_number_hash:
            same_id = same_id_number_today(order)
        elif fact == PHONE_HOURS and order.phone:
            phone[param] = same_within_hours(order, "receiver_phone_hash", phone_hash(order.phone), 1, param)
        elif fact == ADDRESS_HOURS and order.address:
            address[param] = same_within_hours(
                order, "receiver_address_hash", address_hash(order.address), 2, param
            )
    return History(same_id, phone, address)


def _others(order: OrderInfo) -> QuerySet:
    qs = Order.objects.all()
    return qs.exclude(pk=order.order_pk) if order.order_pk else qs


def same_id_number_today(order: OrderInfo) -> int:
    """Orders with this ID number placed on the same Asia/Shanghai calendar day, all shops
    (index order_idno_day), plus new orders of the same intake batch, plus this one."""
    day = local_day(order.placed_at)
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    end = start + timedelta(days=1)
    stored = (
        _others(order)
        .filter(id_number_hash=order.id_number_hash, placed_at__gte=start, placed_at__lt=end)
        .count()
    )
    peers = sum(1 for p in order.batch_peers if p[0] == order.id_number_hash and start <= p[3] < end)
    return stored + peers + 1


def same_within_hours(order: OrderInfo, column: str, value: str, peer_index: int, hours: int) -> int:
    """Orders with the same phone/address (`value`: the blind index in `column`) placed in the `hours`
    before this one (up to its time), all shops, plus new orders of the same intake batch, plus this
    one. The phone query uses the index order_phone_time; the address query narrows by the
    placed_at index first."""
    end = order.placed_at
    start = end - timedelta(hours=hours)
    stored = _others(order).filter(**{column: value, "placed_at__gt": start, "placed_at__lte": end}).count()
    peers = sum(1 for p in order.batch_peers if p[peer_index] == value and start < p[3] <= end)
    return stored + peers + 1


def rules(stage: str | None = None) -> QuerySet:
    qs = Rule.objects.select_related("rule_set").order_by("rule_set__stage", "priority", "code")
    return qs.filter(rule_set__stage=stage) if stage else qs


def rule(code: str) -> Rule | None:
    return Rule.objects.select_related("rule_set").filter(code=code).first()


def versions(rule: Rule) -> QuerySet:
    return RuleVersion.objects.filter(rule=rule).order_by("-version")


def rule_set(code: str) -> RuleSet | None:
    return RuleSet.objects.filter(code=code).first()
