"""Tracking use cases: subscribe a shipped waybill at Kuaidi100 (in the worker, after commit), take its
pushes in (signed; the timeline stored per order; signed → the orders `delivered`; a problem state →
an exception in the queue with the carrier's text; `abort` → subscribed again 30 minutes later), and
complete delivered orders after the configured number of days.

The protocol itself (form, sign, push content, its sources) is `shipping.kuaidi100`.
"""

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from zhongshu.core import outbox
from zhongshu.orders.batch import transition_event
from zhongshu.orders.decisions import DELIVERY_HOLD_PREFIX
from zhongshu.orders.models import Order, OrderHold, OrderTransition
from zhongshu.orders.states import OrderStatus, check
from zhongshu.shipping import kuaidi100
from zhongshu.shipping.models import AfterShipSettings, Provider, TrackingEvent, TrackingSubscription, Waybill

log = logging.getLogger(__name__)
S = OrderStatus
SYSTEM = "system:tracking"
CALLBACK_PATH = "/api/v1/tracking/kuaidi100"
RESUBSCRIBE_AFTER = timedelta(minutes=30)  # Kuaidi100: an aborted number may be subscribed again after 30 min
HOLD_PREFIX = DELIVERY_HOLD_PREFIX  # OrderHold.code of a delivery problem: tracking/<state>
TIMEOUT = 10.0
MOBILE = re.compile(r"^1[3-9]\d{9}$")
Sub = TrackingSubscription.Status


class PushRefused(ValueError):
    """A push that is not Kuaidi100's (wrong sign, no salt configured, unreadable): nothing changed."""


# --- settings --------------------------------------------------------------------------------------


def current_settings() -> AfterShipSettings:
    """The settings row (an unsaved default when none was saved yet)."""
    return AfterShipSettings.objects.order_by("pk").first() or AfterShipSettings()


def kuaidi100_credentials(row: AfterShipSettings | None = None) -> tuple[str, str]:
    """(key, salt): the console's values, else ZHONGSHU_KUAIDI100_KEY / ZHONGSHU_KUAIDI100_SALT."""
    row = row or current_settings()
    key = row.kuaidi100_key or os.environ.get("ZHONGSHU_KUAIDI100_KEY", "")
    salt = row.kuaidi100_salt or os.environ.get("ZHONGSHU_KUAIDI100_SALT", "")
    return key, salt


def callback_url() -> str:
    return settings.PUBLIC_URL.rstrip("/") + CALLBACK_PATH


# --- subscribe -------------------------------------------------------------------------------------


def subscribe(waybill_id: int) -> TrackingSubscription:
    """Subscribe the waybill (safe to run twice: a subscribed or signed one is left alone). A transport
    failure is recorded and raised for the queue's retry; a refusal is recorded."""
    waybill = Waybill.objects.select_related("package").get(pk=waybill_id)
    company = kuaidi100.COMPANY.get(waybill.carrier, "")
    sub, _ = TrackingSubscription.objects.get_or_create(waybill=waybill, defaults={"company": company})
    if sub.status in (Sub.SUBSCRIBED, Sub.SIGNED):
        return sub
    row = current_settings()
    key, salt = kuaidi100_credentials(row)
    why = _cannot_subscribe(waybill, company, key, salt)
    if why:
        return _record(sub, Sub.FAILED, why)
    form = kuaidi100.subscribe_form(
        company, waybill.waybill_no, key, callback_url(), salt, _phone(waybill, company)
    )
    TrackingSubscription.objects.filter(pk=sub.pk).update(attempts=sub.attempts + 1)
    sub.attempts += 1
    try:
        response = httpx.post(row.kuaidi100_url or kuaidi100.POLL_URL, data=form, timeout=TIMEOUT)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        _record(sub, Sub.FAILED, f"订阅请求失败：{type(exc).__name__}: {exc}")
        raise
    if not isinstance(answer, dict) or not kuaidi100.subscribed(answer):
        return _record(sub, Sub.FAILED, f"快递100拒绝订阅：{str(answer)[:900]}")
    sub.subscribed_at, sub.resubscribe_at = timezone.now(), None
    return _record(sub, Sub.SUBSCRIBED, "", ["subscribed_at", "resubscribe_at"])


def _cannot_subscribe(waybill: Waybill, company: str, key: str, salt: str) -> str:
    if waybill.provider == Provider.SANDBOX:
        return "测试面单（沙箱）不订阅物流"
    if not company:
        return f"快递 {waybill.get_carrier_display()} 没有快递100编码"
    if not key or not salt:
        return "未配置快递100授权 key 或签名 salt（物流跟踪与通知设置）"
    return ""


def _phone(waybill: Waybill, company: str) -> str:
    """SF needs the receiver's or the sender's phone; its last four digits are accepted, so only they
    leave. A platform's receiver phone may be ciphertext or a virtual number: then the sender's."""
    if company not in kuaidi100.NEEDS_PHONE:
        return ""
    order = Order.objects.filter(package_orders__package_id=waybill.package_id).order_by("pk").first()
    receiver = (order.receiver_phone if order else "").replace(" ", "").replace("-", "")
    if MOBILE.match(receiver.removeprefix("+86")):
        return receiver[-4:]
    sender = "".join(ch for ch in (waybill.account.sender_phone if waybill.account else "") if ch.isdigit())
    return sender[-4:]


def _record(sub: TrackingSubscription, status: str, error: str, extra: list[str] | None = None):
    sub.status, sub.last_error = status, error[:1000]
    sub.save(update_fields=["status", "last_error", "updated_at", *(extra or [])])
    return sub


def resubscribe_due(at: datetime | None = None) -> list[int]:
    """Subscribe again the aborted waybills whose 30 minutes are over; returns their waybill ids."""
    due = list(
        TrackingSubscription.objects.filter(status=Sub.ABORTED, resubscribe_at__lte=at or timezone.now())
        .order_by("pk")
        .values_list("waybill_id", flat=True)
    )
    done = []
    for waybill_id in due:
        TrackingSubscription.objects.filter(waybill_id=waybill_id, status=Sub.ABORTED).update(
            status=Sub.PENDING
        )
        try:
            subscribe(waybill_id)
        except httpx.HTTPError:
            log.warning("resubscribing waybill %s failed; it stays failed for the next run", waybill_id)
            TrackingSubscription.objects.filter(waybill_id=waybill_id).update(
                status=Sub.ABORTED, resubscribe_at=timezone.now() + RESUBSCRIBE_AFTER
            )
            continue
        done.append(waybill_id)
    return done


# --- pushes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    waybill_no: str
    known: bool
    delivered: tuple[int, ...] = ()
    exceptions: tuple[int, ...] = ()
    aborted: bool = False


def receive_push(param: str, sign: str) -> Received:
    """One push: verified against the salt before anything is read; then one transaction."""
    _, salt = kuaidi100_credentials()
    if not kuaidi100.verify(param or "", sign or "", salt):
        raise PushRefused("签名错误" if salt else "未配置签名 salt")
    try:
        push = kuaidi100.parse_push(param)
    except kuaidi100.BadPush as exc:
        raise PushRefused(str(exc)) from exc
    waybill = _waybill_for(push)
    if waybill is None:  # a number we do not know: acknowledged, nothing stored
        log.info("kuaidi100 push for an unknown waybill %s", push.number[-4:])
        return Received(push.number, known=False)
    with transaction.atomic():
        return apply_push(waybill, push)


def _waybill_for(push: kuaidi100.Push) -> Waybill | None:
    rows = Waybill.objects.filter(waybill_no=push.number).order_by("status", "-pk")  # active first
    carriers = [c for c, code in kuaidi100.COMPANY.items() if code == push.company]
    if carriers:
        rows = rows.filter(carrier__in=carriers) if rows.filter(carrier__in=carriers).exists() else rows
    return rows.first()


def apply_push(waybill: Waybill, push: kuaidi100.Push) -> Received:
    """Store a verified, parsed tracking push for this waybill (inside the caller's transaction):
    steps, the subscription's state, orders and packages moved on (signed for → delivered)."""
    sub, _ = TrackingSubscription.objects.select_for_update().get_or_create(
        waybill=waybill, defaults={"company": kuaidi100.COMPANY.get(waybill.carrier, push.company)}
    )
    orders = list(
        Order.objects.select_for_update(of=("self",))
        .select_related("shop", "warehouse")
        .filter(package_orders__package_id=waybill.package_id)
        .order_by("pk")
    )
    _store_steps(orders, waybill, push)
    now = timezone.now()
    events: list = []
    delivered: list[int] = []
    raised: list[int] = []
    sub.last_state, sub.last_message = push.state, (push.steps[0].text if push.steps else push.message)[:400]
    if push.state == kuaidi100.SIGNED:
        delivered = _deliver(orders, push, now, events)
        sub.status = Sub.SIGNED
        sub.signed_at = sub.signed_at or (push.steps[0].at if push.steps else now)
    elif push.state in kuaidi100.PROBLEM_STATES:
        raised = _raise_exception(orders, waybill, push, now, events)
    if push.status == kuaidi100.ABORT and sub.status != Sub.SIGNED:
        sub.status, sub.resubscribe_at = Sub.ABORTED, now + RESUBSCRIBE_AFTER
    sub.save()
    events.append(_tracking_event(waybill, push))
    outbox.write(events)
    return Received(push.number, True, tuple(delivered), tuple(raised), push.status == kuaidi100.ABORT)


def _store_steps(orders: list[Order], waybill: Waybill, push: kuaidi100.Push) -> None:
    rows = [
        TrackingEvent(
            order=o,
            waybill=waybill,
            at=s.at,
            place=s.place,
            text=s.text,
            state=s.state,
            digest=hashlib.sha1(f"{s.at.isoformat()}|{s.text}".encode()).hexdigest(),
        )  # fmt: skip
        for o in orders
        for s in push.steps
    ]
    TrackingEvent.objects.bulk_create(rows, ignore_conflicts=True)


def _deliver(orders: list[Order], push: kuaidi100.Push, now: datetime, events: list) -> list[int]:
    """Shipped → delivered through the state machine, audited; their delivery-problem holds released."""
    text = push.steps[0].text if push.steps else push.message
    reason = f"快递100：签收 {text}"[:400]
    # an order already delivered or completed (a push again) is left as it is
    moved = [_advance(o, S.DELIVERED, reason, now, events) for o in orders if o.status == S.SHIPPED]
    OrderHold.objects.filter(order__in=orders, code__startswith=HOLD_PREFIX, released_at__isnull=True).update(
        released_at=now, released_by=f"{SYSTEM} 已签收"
    )
    return moved


def _advance(order: Order, target: str, reason: str, now: datetime, events: list) -> int:
    """One audited step of the order's state machine (shipped → delivered → completed)."""
    check(order.status, target)
    OrderTransition.objects.create(
        order=order, from_status=order.status, to_status=target, actor=SYSTEM, reason=reason, at=now
    )
    events.append(transition_event(order, order.status, target, reason, SYSTEM))
    Order.objects.filter(pk=order.pk).update(status=target, updated_at=now)
    order.status = target
    return order.pk


def _raise_exception(
    orders: list[Order], waybill: Waybill, push: kuaidi100.Push, now: datetime, events: list
) -> list[int]:
    """A delivery problem becomes an open hold (tracking/<state>) with the carrier's text, once per
    state while it is open; the order keeps its status (it left the warehouse)."""
    code = f"{HOLD_PREFIX}{push.state}"
    text = push.steps[0].text if push.steps else push.message
    name = kuaidi100.STATE_NAMES.get(push.state, push.state)
    reason = f"物流{name}（{waybill.get_carrier_display()} {waybill.waybill_no}）：{text}"[:400]
    open_ = set(
        OrderHold.objects.filter(order__in=orders, code=code, released_at__isnull=True).values_list(
            "order_id", flat=True
        )
    )
    raised = [o for o in orders if o.pk not in open_ and o.status in (S.SHIPPED, S.DELIVERED)]
    OrderHold.objects.bulk_create(
        [OrderHold(order=o, code=code, reason=reason, created_at=now) for o in raised]
    )
    for o in raised:
        events.append(
            outbox.event(
                "order.delivery_exception",
                key=f"order:{o.pk}",
                actor=SYSTEM,
                payload={
                    "subject": f"order:{o.pk}",
                    "order_id": o.pk,
                    "state": push.state,
                    "code": code,
                    "summary": f"{o.shop.code}/{o.channel_order_id}: {reason}",
                },
            )  # fmt: skip
        )
    return [o.pk for o in raised]


def _tracking_event(waybill: Waybill, push: kuaidi100.Push):
    return outbox.event(
        "tracking.updated",
        key=f"package:{waybill.package_id}",
        actor=SYSTEM,
        payload={
            "subject": f"package:{waybill.package_id}",
            "package_id": waybill.package_id,
            "waybill_no": waybill.waybill_no,
            "status": push.status,
            "state": push.state,
            "summary": f"P{waybill.package_id}: 物流 {kuaidi100.STATE_NAMES.get(push.state, push.state)} {push.status}",
        },
    )


def release_exception(hold_id: int, actor: str) -> bool:
    """A person handled a delivery problem: its hold is released (the order's status is unchanged)."""
    return bool(
        OrderHold.objects.filter(pk=hold_id, code__startswith=HOLD_PREFIX, released_at__isnull=True).update(
            released_at=timezone.now(), released_by=f"{actor[:100]} 已处理"
        )
    )


# --- completed --------------------------------------------------------------------------------------


def complete_due(at: datetime | None = None) -> list[int]:
    """Delivered orders signed for at least `complete_after_days` ago become `completed` (audited)."""
    now = at or timezone.now()
    days = current_settings().complete_after_days
    cutoff = now - timedelta(days=days)
    ids = list(
        Order.objects.filter(
            status=S.DELIVERED, transitions__to_status=S.DELIVERED, transitions__at__lte=cutoff
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    done = []
    for chunk in (ids[i : i + 200] for i in range(0, len(ids), 200)):
        with transaction.atomic():
            orders = Order.objects.select_for_update(of=("self",)).select_related("shop", "warehouse")
            events = []
            reason = f"签收满 {days} 天自动完成"
            for order in orders.filter(pk__in=chunk, status=S.DELIVERED).order_by("pk"):
                done.append(_advance(order, S.COMPLETED, reason, now, events))
            outbox.write(events)
    return done
