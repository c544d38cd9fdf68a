"""The KPI report (R-MON3): per day or per week (Asia/Shanghai), measured from the hub's own records.

- **Processing time** paid → packed and paid → shipped, average and p90, from the timestamps a
  package carries (`Package.paid_at`, `packed_at`, `shipped_at`); a package counts in the period of
  its packing (resp. shipping). p90 is the nearest-rank percentile: the smallest value that at least
  90 % of the packages do not exceed.
- **Wrong/missing shipment caught at the check** (验货/称重): packages with a refused scan (the
  `package.check_refused` events) or stopped by the weigh check (a stop from a checkable state of a
  package that was weighed), per 100 packages checked (those packed plus those with such an error).
  After-sales reasons (wrong item received) are not in the hub yet.
- **Availability** from the minute's health samples (`monitor/health.py`): available minutes over
  the minutes since sampling began; a minute without a sample is down. "In promotions": over the
  samples taken in peak mode (大促模式), the gaps between two peak samples counted as down.
- **Order labour**: manual actions on orders (order events whose actor is a person in the console:
  `admin:` or `console:`), one per order and instant, per 100 orders paid in the period.
- **Interceptions and losses avoided**: the exception queue's figures per period (orders held, their
  value, and the value of those cancelled or corrected in review: `orders.exceptions.held_figures`),
  and the packages stopped (拦截) on the floor.
"""

import math
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Min
from django.utils.translation import gettext_lazy as _

from zhongshu.core.models import OutboxEvent
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.fulfilment.domain import CHECKABLE, PackageStatus
from zhongshu.fulfilment.models import Package, PackageTransition
from zhongshu.monitor.models import HealthSample
from zhongshu.orders.exceptions import held_figures
from zhongshu.orders.models import Order

PERIODS = {"day": _("按日"), "week": _("按周")}
HUMAN_ACTORS = ("admin:", "console:")  # a person acting on orders in the console
CHECK_REFUSED = "package.check_refused"
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MINUTE = timedelta(minutes=1)


@dataclass
class KpiRow:
    label: str
    start: datetime
    end: datetime
    orders: int = 0  # paid in the period (the labour denominator)
    packed: int = 0
    packed_avg_h: float | None = None  # paid → packed, hours
    packed_p90_h: float | None = None
    shipped: int = 0
    shipped_avg_h: float | None = None  # paid → shipped, hours
    shipped_p90_h: float | None = None
    checked: int = 0
    check_errors: int = 0
    error_rate_pct: float | None = None
    minutes: int = 0  # minutes measured (since sampling began, up to now)
    available_minutes: int = 0
    availability_pct: float | None = None
    peak_minutes: int = 0
    peak_available_minutes: int = 0
    peak_availability_pct: float | None = None
    manual_actions: int = 0
    labour_per_100: float | None = None
    intercepted: int = 0  # orders held (a refund's hold is none)
    intercepted_amount: Decimal = ZERO
    avoided_amount: Decimal = ZERO  # of those, cancelled or corrected in review
    stopped_packages: int = 0  # packages stopped (拦截) on the floor


@dataclass
class KpiReport:
    period: str
    rows: list[KpiRow] = field(default_factory=list)
    total: KpiRow | None = None


def periods(period: str, first: date, last: date) -> list[tuple[str, datetime, datetime]]:
    """(label, start, end) of each day or ISO week (Monday first) from `first` to `last`, local time."""
    if period not in PERIODS:
        raise ValueError(f"period: one of {', '.join(PERIODS)}")
    step = timedelta(days=1 if period == "day" else 7)
    day = first if period == "day" else first - timedelta(days=first.weekday())
    out = []
    while day <= last:
        start = datetime.combine(day, time.min, SHANGHAI)
        label = day.isoformat() if period == "day" else f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
        out.append((label, start, datetime.combine(day + step, time.min, SHANGHAI)))
        day += step
    return out


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


class _Slots:
    """Finds the period row of a moment (bisect over the starts); the total row takes everything."""

    def __init__(self, rep: KpiReport):
        self.rows, self.total = rep.rows, rep.total
        self.lo, self.hi = rep.total.start, rep.total.end
        # POSIX seconds: comparing aware datetimes of two time zones costs a conversion each time
        self._starts = [r.start.timestamp() for r in rep.rows]
        self._lo, self._hi = self.lo.timestamp(), self.hi.timestamp()

    def __call__(self, when: datetime) -> tuple[KpiRow, ...]:
        t = when.timestamp()
        if not self._lo <= t < self._hi:
            return ()
        return self.rows[bisect_right(self._starts, t) - 1], self.total

    def all(self) -> list[KpiRow]:
        return [*self.rows, self.total]


def report(period: str, first: date, last: date, now: datetime) -> KpiReport:
    """The KPI rows of each period from `first` to `last` (local days), plus the whole range."""
    spans = periods(period, first, last)
    rep = KpiReport(period, [KpiRow(label, s, e) for label, s, e in spans])
    rep.total = KpiRow(str(_("合计")), spans[0][1], spans[-1][2])
    slots = _Slots(rep)
    _times(slots)
    _checks(slots)
    _availability(slots, now)
    _labour(slots)
    _interceptions(slots)
    return rep


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _times(slots: _Slots) -> None:
    lo, hi = slots.lo, slots.hi
    packed, shipped = defaultdict(list), defaultdict(list)
    for stamp, into in (("packed_at", packed), ("shipped_at", shipped)):
        found = Package.objects.filter(**{f"{stamp}__gte": lo, f"{stamp}__lt": hi, "paid_at__isnull": False})
        for paid, done in found.values_list("paid_at", stamp):
            for r in slots(done):
                into[id(r)].append(_hours(done - paid))
    for paid_at in Order.objects.filter(paid_at__gte=lo, paid_at__lt=hi).values_list("paid_at", flat=True):
        for r in slots(paid_at):
            r.orders += 1
    for r in slots.all():
        p, s = packed[id(r)], shipped[id(r)]
        r.packed, r.shipped = len(p), len(s)
        if p:
            r.packed_avg_h, r.packed_p90_h = _round(sum(p) / len(p)), _round(p90(p))
        if s:
            r.shipped_avg_h, r.shipped_p90_h = _round(sum(s) / len(s)), _round(p90(s))


def _checks(slots: _Slots) -> None:
    lo, hi = slots.lo, slots.hi
    checked, errors = defaultdict(set), defaultdict(set)
    for pk, when in Package.objects.filter(packed_at__gte=lo, packed_at__lt=hi).values_list(
        "pk", "packed_at"
    ):
        for r in slots(when):
            checked[id(r)].add(pk)
    refused = OutboxEvent.objects.filter(topic=CHECK_REFUSED, created_at__gte=lo, created_at__lt=hi)
    for key, when in refused.values_list("key", "created_at"):
        for r in slots(when):
            errors[id(r)].add(int(key.split(":")[1]))
    weight_stops = PackageTransition.objects.filter(
        to_status=PackageStatus.STOPPED,
        from_status__in=[s.value for s in CHECKABLE],
        package__measured_weight_g__isnull=False,
        at__gte=lo,
        at__lt=hi,
    )
    for pk, when in weight_stops.values_list("package_id", "at"):
        for r in slots(when):
            errors[id(r)].add(pk)
    for r in slots.all():
        r.check_errors = len(errors[id(r)])
        r.checked = len(checked[id(r)] | errors[id(r)])
        r.error_rate_pct = _pct(r.check_errors, r.checked)


def _availability(slots: _Slots, now: datetime) -> None:
    began = HealthSample.objects.aggregate(first=Min("at"))["first"]
    if began is None:
        return
    began = began.replace(second=0, microsecond=0)
    samples = list(
        HealthSample.objects.filter(at__gte=slots.lo, at__lt=slots.hi)
        .order_by("at")
        .values_list("at", "ok", "peak_mode")
    )
    for r in slots.all():
        start, end = max(r.start, began), min(r.end, now)
        r.minutes = max(0, int((end - start) / MINUTE)) if end > start else 0
    # one verdict per minute: two samples of one minute (two workers' schedulers) count once, and
    # the minute is available only if every sample of it was
    minutes: dict[datetime, tuple[bool, bool]] = {}
    for when, ok, peak in samples:
        key = when.replace(second=0, microsecond=0)
        was = minutes.get(key, (True, False))
        minutes[key] = (was[0] and ok, was[1] or peak)
    previous = None
    for when, (ok, peak) in minutes.items():  # in time order (the samples were)
        for r in slots(when):
            r.available_minutes += ok
            if peak:
                r.peak_minutes += 1
                r.peak_available_minutes += ok
                if previous and previous[1]:  # minutes missed between two peak samples: down
                    r.peak_minutes += max(0, round((when - previous[0]) / MINUTE) - 1)
        previous = (when, peak)
    for r in slots.all():
        r.minutes = max(r.minutes, r.available_minutes)  # a sample in the current minute counts
        r.availability_pct = _pct(r.available_minutes, r.minutes)
        r.peak_availability_pct = _pct(r.peak_available_minutes, r.peak_minutes)


def _labour(slots: _Slots) -> None:
    actions = set()
    found = OutboxEvent.objects.filter(
        topic__startswith="order.", created_at__gte=slots.lo, created_at__lt=slots.hi
    )
    for prefix in HUMAN_ACTORS:
        actions |= set(found.filter(actor__startswith=prefix).values_list("key", "actor", "created_at"))
    for _key, _actor, when in actions:
        for r in slots(when):
            r.manual_actions += 1
    for r in slots.all():
        r.labour_per_100 = _round(100 * r.manual_actions / r.orders) if r.orders else None


def _interceptions(slots: _Slots) -> None:
    """The exception queue's own figures (orders.exceptions.held_figures) per period, plus the
    packages stopped (拦截) on the floor."""
    for r in slots.all():
        f = held_figures(r.start, r.end)
        r.intercepted, r.intercepted_amount, r.avoided_amount = (
            f.held,
            _cents(f.held_value),
            _cents(f.avoided_value),
        )
    stops = PackageTransition.objects.filter(
        to_status=PackageStatus.STOPPED, at__gte=slots.lo, at__lt=slots.hi
    )
    stopped = defaultdict(set)
    for pkg, when in stops.values_list("package_id", "at"):
        for r in slots(when):
            stopped[id(r)].add(pkg)
    for r in slots.all():
        r.stopped_packages = len(stopped[id(r)])


def _cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


# --- the table's columns (screen and Excel) --------------------------------------------------

COLUMNS = (
    ("label", _("周期")),
    ("orders", _("付款订单")),
    ("packed", _("打包包裹")),
    ("packed_avg_h", _("付款→打包 平均(小时)")),
    ("packed_p90_h", _("付款→打包 P90(小时)")),
    ("shipped", _("发货包裹")),
    ("shipped_avg_h", _("付款→发货 平均(小时)")),
    ("shipped_p90_h", _("付款→发货 P90(小时)")),
    ("checked", _("验货包裹")),
    ("check_errors", _("验货发现错漏")),
    ("error_rate_pct", _("错漏发拦截率(%)")),
    ("availability_pct", _("可用率(%)")),
    ("peak_availability_pct", _("大促期间可用率(%)")),
    ("manual_actions", _("人工操作")),
    ("labour_per_100", _("每百单人工操作")),
    ("intercepted", _("拦截订单")),
    ("intercepted_amount", _("拦截金额(元)")),
    ("avoided_amount", _("避免损失(元)")),
    ("stopped_packages", _("拦截包裹")),
)


def workbook(rep: KpiReport) -> bytes:
    """The report as an .xlsx: one row per period and the total, then the definitions."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = str(_("KPI 报表"))
    ws.append([str(label) for _attr, label in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in [*rep.rows, rep.total]:
        ws.append([getattr(r, attr) for attr, _label in COLUMNS])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for col in ws.columns:
        ws.column_dimensions[col[0].column_letter].width = 16
    notes = wb.create_sheet(str(_("口径")))
    for line in DEFINITIONS:
        notes.append([str(line)])
    notes.column_dimensions["A"].width = 120
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


DEFINITIONS = (
    _(
        "处理时长：包裹的付款时间到打包/发货时间；按打包/发货所在的日或周统计；P90 为 90% 的包裹不超过的时长。"
    ),
    _(
        "错漏发拦截率：验货扫描被拒或称重不符被拦截的包裹 ÷ 验货包裹（已打包的加上发现错漏的）。售后错漏发原因接入后另计。"
    ),
    _(
        "可用率：每分钟健康采样（接口应答、后台任务按时运行、数据库延迟不超过 1 秒）中可用的分钟 ÷ 开始采样以来的分钟，缺少采样的分钟计为不可用；大促期间可用率只计大促模式下的采样。"
    ),
    _("每百单人工操作：后台人员对订单的操作次数（每个订单每次操作计一次）÷ 当期付款订单 × 100。"),
    _(
        "拦截订单：当期被挂起过的订单数及其实付金额（买家申请退款引起的挂起不算拦截）；避免损失：其中在异常队列里被审核取消、或修改后才放行的订单的实付金额，与异常订单页的口径相同；拦截包裹：当期在仓内被拦截的包裹数。"
    ),
)
