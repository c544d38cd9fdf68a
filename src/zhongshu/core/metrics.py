"""`/metrics` for Prometheus: intake counted where it happens, the rest read from the database per scrape.

Counted in the process that does the work: orders taken in (per channel and outcome) and how long an
intake call takes. Under `zhongshu serve` (several gunicorn workers plus the background worker) every
process writes its values to files in PROMETHEUS_MULTIPROC_DIR (ZHONGSHU_HOME/metrics, emptied when
`serve` starts) and a scrape adds them up, whichever process answers.

Read at scrape time (never stored per process): the backlog per stage (one GROUP BY over orders), the
task queue's pending count, the sync lag per shop and the alert rules that are firing.

Access: `Authorization: Bearer $ZHONGSHU_METRICS_TOKEN`; a missing or wrong token is answered 401, and
without ZHONGSHU_METRICS_TOKEN the endpoint does not exist (404).
"""

import hmac
import os

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set by the CLI (serve, worker) before this is imported

INTAKE_ORDERS = Counter(
    "zhongshu_intake_orders",
    "Orders taken in, per channel (the shop's platform) and outcome (created, updated, unchanged).",
    ["channel", "outcome"],
)
INTAKE_SECONDS = Histogram(
    "zhongshu_intake_duration_seconds",
    "Duration of one intake call (one order from the API, or a batch from an import or a sync).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# the backlog per stage: the statuses an order waits in between payment and the carrier
STAGES = ("paid", "on_hold", "backordered", "allocated", "picking", "packed")


def record_intake(results, seconds: float) -> None:
    """Count one intake call's orders (IntakeResult list) and its duration; no query (shops are loaded)."""
    INTAKE_SECONDS.observe(seconds)
    for r in results:
        INTAKE_ORDERS.labels(r.order.shop.platform, r.outcome).inc()


def process_exited(pid: int) -> None:
    """gunicorn's child_exit hook: drop the gone worker's live gauges (its counters stay counted)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


# --- read at scrape time -------------------------------------------------------------------------


class HubCollector:
    """Gauges computed from the database (and the queue) on each scrape."""

    def collect(self):
        from huey.contrib.djhuey import HUEY

        from zhongshu.channels.models import SyncState
        from zhongshu.notify.metrics import PUSH_ONLY
        from zhongshu.notify.models import AlertRule
        from zhongshu.orders.models import Order

        backlog = GaugeMetricFamily(
            "zhongshu_backlog_orders", "Orders waiting in each stage (order status).", labels=["stage"]
        )
        counts = dict(
            Order.objects.filter(status__in=STAGES).values_list("status").annotate(n=Count("id")).order_by()
        )
        for stage in STAGES:
            backlog.add_metric([stage], counts.get(stage, 0))
        yield backlog

        yield GaugeMetricFamily(
            "zhongshu_queue_pending_tasks",
            "Tasks waiting in the background queue.",
            value=HUEY.pending_count(),
        )

        lag = GaugeMetricFamily(
            "zhongshu_sync_lag_seconds",
            "Seconds since a pulled shop's last successful sync.",
            labels=["shop"],
        )
        now = timezone.now()
        states = SyncState.objects.filter(
            enabled=True, shop__active=True, last_success_at__isnull=False
        ).exclude(shop__platform__in=PUSH_ONLY)
        for code, at in states.values_list("shop__code", "last_success_at").order_by("shop__code"):
            lag.add_metric([code], (now - at).total_seconds())
        yield lag

        alerts = GaugeMetricFamily(
            "zhongshu_alerts_firing",
            "Subjects (the hub, or a shop) for which an active alert rule is firing.",
            labels=["rule", "metric"],
        )
        rules = AlertRule.objects.filter(active=True).annotate(
            firing=Count("states", filter=Q(states__firing=True))
        )
        for rule in rules.order_by("name"):
            alerts.add_metric([rule.name, rule.metric], rule.firing)
        yield alerts


class _Default:
    """This process's own metrics, when there is only one process (runserver, tests)."""

    def collect(self):
        yield from REGISTRY.collect()


def exposition() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    registry.register(HubCollector())
    return generate_latest(registry)


def _authorised(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@require_GET
def metrics_view(request):
    if not settings.METRICS_TOKEN:
        return HttpResponse(
            "metrics are off: set ZHONGSHU_METRICS_TOKEN\n", status=404, content_type="text/plain"
        )
    if not _authorised(request):
        response = HttpResponse("a valid bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
