"""The load signals the degradation policy watches, measured in the worker at each check.

- backlog: tasks waiting in the Huey queue plus outbox events not yet delivered;
- intake_p95_ms: p95 of the intake calls since the previous check, from the intake-duration histogram
  of core.metrics (all processes' values when PROMETHEUS_MULTIPROC_DIR is set, as /metrics adds them
  up); the bucket counts of the previous check are kept on the policy row, so the p95 is of the window
  between two checks, read as the upper bound of the bucket that holds the 95th percentile;
- load_per_cpu: the 1-minute load average divided by the number of CPUs.

`set_probe(fn)` replaces the measurement (tests, a rehearsal): fn() returns the same dict.
"""

import math
import os
from collections.abc import Callable

from zhongshu.core.models import OutboxEvent

Probe = Callable[[], dict]
_probe: Probe | None = None


def set_probe(fn: Probe | None) -> None:
    global _probe
    _probe = fn


def intake_buckets() -> list[list]:
    """[[upper bound, cumulative count], ...] of the intake-duration histogram, bounds as text ("0.5",
    "+Inf" last: JSON has no infinity)."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    from zhongshu.core import metrics

    if os.environ.get(metrics.MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    counts: dict[float, float] = {}
    for family in registry.collect():
        if family.name != "zhongshu_intake_duration_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                counts[le] = counts.get(le, 0.0) + sample.value
    return [[str(le) if not math.isinf(le) else "+Inf", counts[le]] for le in sorted(counts)]


def p95_ms(before: list, after: list) -> float:
    """p95 (ms) of the observations between two bucket readings; 0 when there were none."""
    prev = {float(le): n for le, n in before}
    window = [(float(le), n - prev.get(float(le), 0.0)) for le, n in after]
    if not window or window[-1][1] <= 0 or any(d < 0 for _, d in window):
        return 0.0  # nothing new, or the counters were reset (a restart): no evidence of slowness
    target = 0.95 * window[-1][1]
    for le, n in window:
        if n >= target:
            if math.isinf(le):  # beyond the largest bucket: say the largest finite bound
                finite = [b for b, _ in window if not math.isinf(b)]
                return finite[-1] * 1000 if finite else 0.0
            return le * 1000
    return 0.0


def measure(last_buckets: list) -> tuple[dict, list]:
    """(values, buckets now): the values by signal name, and the buckets to keep for the next check."""
    if _probe is not None:
        return dict(_probe()), last_buckets
    from huey.contrib.djhuey import HUEY

    buckets = intake_buckets()
    backlog = HUEY.pending_count() + OutboxEvent.objects.filter(delivered_at__isnull=True).count()
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:  # no load average on this system
        load = 0.0
    return {
        "backlog": backlog,
        "intake_p95_ms": round(p95_ms(last_buckets, buckets), 1),
        "load_per_cpu": round(load, 2),
    }, buckets
