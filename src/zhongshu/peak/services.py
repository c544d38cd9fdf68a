"""Degradation (R-PEAK2) and promotion mode: the periodic check, manual overrides, promotion windows.

`check(now)` runs in the worker every CHECK_SECONDS (peak/tasks.py): it measures the load (signals.py),
updates the policy's hysteresis counters, and sets every switch to what it should be; `tick_promotions
(now)` starts and ends promotion windows. Each change is written to the outbox in the same
transaction (the audit timeline shows it). Order intake, payment confirmation, allocation and
shipping have no switch and are never touched here.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from zhongshu.core import degrade, outbox
from zhongshu.core.models import DegradeSwitch
from zhongshu.peak import signals
from zhongshu.peak.models import DegradePolicy, PromotionWindow
from zhongshu.peak.switches import SIGNALS, SWITCHES, label
from zhongshu.rules.models import RuntimeState
from zhongshu.rules.services import set_peak_mode

Mode = DegradeSwitch.Override


def _forget() -> None:
    """This process reads the new switch states at once (and again after the commit)."""
    degrade.forget()
    transaction.on_commit(degrade.forget)


def policy() -> DegradePolicy:
    return DegradePolicy.objects.get_or_create(pk=1)[0]


def marks(p: DegradePolicy, promotion: bool) -> dict[str, tuple[float, float]]:
    """signal → (high, low); tighter (times promotion_factor) during a promotion window."""
    f = float(p.promotion_factor) if promotion else 1.0
    return {
        "backlog": (p.backlog_high * f, p.backlog_low * f),
        "intake_p95_ms": (p.p95_high_ms * f, p.p95_low_ms * f),
        "load_per_cpu": (float(p.load_high) * f, float(p.load_low) * f),
    }


def _promotion_running() -> bool:
    return DegradeSwitch.objects.filter(name=degrade.PROMOTION, enabled=True).exists()


def _fmt(name: str, value: float, mark: float) -> str:
    return f"{SIGNALS[name]} {value:g} > {mark:g}"


@transaction.atomic
def check(now: datetime | None = None) -> DegradePolicy:
    """One check of the load: hysteresis, then every switch set to what it should be."""
    now = now or timezone.now()
    policy()  # the row exists before it is locked
    p = DegradePolicy.objects.select_for_update().get(pk=1)
    values, p.last_buckets = signals.measure(p.last_buckets)
    limits = marks(p, _promotion_running())
    over = [_fmt(k, values[k], hi) for k, (hi, _lo) in limits.items() if values.get(k, 0) > hi]
    under = all(values.get(k, 0) < lo for k, (_hi, lo) in limits.items())
    if over:
        p.over_count, p.under_count = p.over_count + 1, 0
    elif under:
        p.over_count, p.under_count = 0, p.under_count + 1
    else:  # between the marks: hold the current decision
        p.over_count = p.under_count = 0
    events = []
    if not p.degraded and p.over_count >= p.off_after:
        p.degraded, p.since, p.reason = True, now, "；".join(over)[:300]
        events.append(_degraded_event(True, p.reason))
    elif p.degraded and p.under_count >= p.on_after:
        p.degraded, p.since = False, now
        p.reason = f"负载连续 {p.under_count} 次低于恢复线"
        events.append(_degraded_event(False, p.reason))
    p.checked_at, p.last_values = now, values
    p.save()
    events += _apply(p, now)
    outbox.write(events)
    _forget()
    return p


def _degraded_event(on: bool, reason: str):
    summary = f"系统{'进入降级' if on else '恢复正常'}：{reason}"
    return outbox.event("peak.degraded", key="peak:degrade", actor="system",
                        payload={"subject": "peak:degrade", "degraded": on, "summary": summary})  # fmt: skip


def _apply(p: DegradePolicy, now: datetime, actor: str = "system") -> list:
    """Set every registered switch to its override, else to the policy's decision; events of changes."""
    rows = {s.name: s for s in DegradeSwitch.objects.select_for_update().filter(name__in=SWITCHES)}
    events = []
    for name in sorted(SWITCHES):
        row = rows.get(name) or DegradeSwitch.objects.create(name=name, since=now)
        want = True if row.override == Mode.ON else False if row.override == Mode.OFF else not p.degraded
        if want == row.enabled:
            continue
        if row.override == Mode.AUTO:
            reason = p.reason if not want else "负载回落，自动恢复"
        else:
            reason = f"人工{row.get_override_display()}"
        row.enabled, row.since, row.reason = want, now, reason[:300]
        row.save(update_fields=["enabled", "since", "reason"])
        summary = f"{label(name)}{'开启' if want else '关闭'}：{row.reason}"
        events.append(outbox.event("peak.switch", key=f"peak:{name}", actor=actor,
                                   payload={"subject": f"peak:{name}", "switch": name, "enabled": want,
                                            "summary": summary}))  # fmt: skip
    return events


def measured(values: dict) -> str:
    """The last measured values as a person reads them."""
    return " · ".join(f"{SIGNALS[k]} {values[k]:g}" for k in SIGNALS if k in values)


@transaction.atomic
def save_policy(p: DegradePolicy, fields: list[str], actor: str) -> None:
    """Save the marks edited in the console (only those: the worker writes the decision), audited."""
    if p._state.adding:
        p.save()
    elif not fields:
        return
    else:
        p.save(update_fields=fields)
    changed = [str(p._meta.get_field(f).verbose_name) for f in fields]
    summary = f"降级策略修改：{', '.join(changed) or '-'}"
    outbox.write([outbox.event("peak.policy", key="peak:degrade", actor=actor,
                               payload={"subject": "peak:degrade", "changed": changed, "summary": summary})])  # fmt: skip


@transaction.atomic
def set_override(name: str, mode: str, actor: str, now: datetime | None = None) -> DegradeSwitch:
    """Force a switch on or off, or give it back to the policy ("auto"); takes effect at once."""
    if name not in SWITCHES:
        raise ValueError(f"unknown switch: {name}")
    if mode not in Mode.values:
        raise ValueError(f"override must be one of {', '.join(Mode.values)}")
    now = now or timezone.now()
    p = policy()
    row, _ = DegradeSwitch.objects.get_or_create(name=name, defaults={"since": now})
    if row.override != mode:
        DegradeSwitch.objects.filter(pk=row.pk).update(override=mode)
        summary = f"{label(name)}人工干预：{Mode(mode).label}"
        events = [outbox.event("peak.switch", key=f"peak:{name}", actor=actor,
                               payload={"subject": f"peak:{name}", "switch": name, "override": mode,
                                        "summary": summary})]  # fmt: skip
        events += _apply(p, now, actor)
        outbox.write(events)
    _forget()
    return DegradeSwitch.objects.get(pk=row.pk)


# --- promotion windows -----------------------------------------------------------------------------


def _set_promotion_flag(on: bool, now: datetime, reason: str) -> None:
    row, _ = DegradeSwitch.objects.get_or_create(name=degrade.PROMOTION, defaults={"enabled": False})
    if row.enabled != on:
        row.enabled, row.since, row.reason = on, now, reason[:300]
        row.save(update_fields=["enabled", "since", "reason"])


def _promotion_event(w: PromotionWindow, started: bool):
    summary = f"促销窗口「{w.name}」{'开始：大促模式开启' if started else '结束：大促模式关闭'}"
    return outbox.event("peak.promotion", key=f"peak:promotion:{w.pk}", actor=f"promotion:{w.name}",
                        payload={"subject": f"peak:promotion:{w.pk}", "window": w.pk, "running": started,
                                 "summary": summary})  # fmt: skip


@transaction.atomic
def tick_promotions(now: datetime | None = None) -> list[str]:
    """Start the windows whose start has come, end those whose end has passed; what changed."""
    now = now or timezone.now()
    changed = []
    windows = list(
        PromotionWindow.objects.select_for_update().exclude(state=PromotionWindow.State.DONE).order_by("pk")
    )
    for w in windows:
        if w.state == PromotionWindow.State.RUNNING and w.ends_at <= now:
            w.state, w.ended_at = PromotionWindow.State.DONE, now
            w.save(update_fields=["state", "ended_at"])
            outbox.write([_promotion_event(w, False)])
            changed.append(f"ended:{w.name}")
        elif w.state == PromotionWindow.State.PLANNED and w.ends_at <= now:
            w.state = PromotionWindow.State.DONE  # missed altogether (the worker was down): never ran
            w.save(update_fields=["state"])
        elif w.state == PromotionWindow.State.PLANNED and w.starts_at <= now:
            state = RuntimeState.objects.get_or_create(pk=1)[0]
            w.state, w.started_at = PromotionWindow.State.RUNNING, now
            w.peak_mode_before = state.peak_mode
            w.save(update_fields=["state", "started_at", "peak_mode_before"])
            outbox.write([_promotion_event(w, True)])
            changed.append(f"started:{w.name}")
    running = list(PromotionWindow.objects.filter(state=PromotionWindow.State.RUNNING))
    if changed:
        peak = RuntimeState.objects.get_or_create(pk=1)[0].peak_mode
        if running and not peak:
            set_peak_mode(True, f"promotion:{running[0].name}")
        elif not running and peak:
            ended = [w for w in windows if w.state == PromotionWindow.State.DONE and w.ended_at == now]
            if not any(w.peak_mode_before for w in ended):  # it was on before the window: leave it on
                set_peak_mode(False, f"promotion:{ended[0].name}" if ended else "system")
        _set_promotion_flag(bool(running), now, running[0].name if running else "")
        _forget()
    return changed


def promotion_factor_text(p: DegradePolicy) -> str:
    return f"{(p.promotion_factor or Decimal(1)).normalize():f}"
