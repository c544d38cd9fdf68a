"""The paths of `zhongshu loadtest` besides the HTTP API, run in the load test's own process.

- pull: the Taobao, JD and PDD platform doubles (zhongshu.doubles) serve on local ports; the
  sandbox's shops of those platforms are pointed at them (their credentials and a 1-second sync
  interval, in the sandbox only); each planned order is put into its shop's double when it is due
  (a cancel or refund modifies it there), and the server's worker pulls them through the connectors
  (the sync scheduler, channels/tasks.py). A share of the doubles' answers is delayed past the
  connectors' timeout (the doubles' `delay_share` switch; the server runs with
  ZHONGSHU_PLATFORM_TIMEOUT), so the report has a third-party timeout rate.
  The connectors end each window `lag` (1–3 minutes) behind their clock, as real platforms' search
  indexes trail their stores. The doubles keep the wall clock, and an order put in at wall time t
  carries t − lag − 2 s as its platform time, so the safety lag does not add minutes to a run of
  seconds; the latency still counts from t, the moment it is put in.
- file: the orders of each chunk of --file-every seconds go into one JSON Lines file, handed to
  `zhongshu import` (its own process) when the chunk ends.
- sampling: every second, the queues of the sandbox (outbox not delivered, push inbox not taken in,
  huey tasks pending) and per path the orders due so far that the hub has not settled (allocated,
  backordered, held or cancelled) yet.
"""

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.db.models import Count, Q
from django.utils import timezone

from zhongshu.doubles.jd import Consignee, JdDouble
from zhongshu.doubles.own import OwnShopDouble
from zhongshu.doubles.pdd import PddDouble
from zhongshu.doubles.server import SHANGHAI
from zhongshu.doubles.taobao import TaobaoDouble

PULL_PLATFORMS = ("taobao", "jd", "pdd")
LAG = {"taobao": timedelta(minutes=1), "jd": timedelta(minutes=1), "pdd": timedelta(minutes=3)}
AHEAD = timedelta(seconds=2)  # beyond the lag: a pull's pages are served before the next order shows
UNSETTLED = ("paid", "pending_payment")


class _WallClock:
    """The double's clock `now` is the wall clock (tests step it; a load test runs in real time)."""

    @property
    def now(self) -> datetime:
        return datetime.now(SHANGHAI)

    @now.setter
    def now(self, value: datetime) -> None:
        pass


class LoadTaobao(_WallClock, TaobaoDouble):
    pass


class LoadJd(_WallClock, JdDouble):
    pass


def _fmt_money(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


class Doubles:
    """The three doubles, started; `connect` points a shop at its platform's double; `put` and
    `change` are what the platform's buyers do (thread-safe against the doubles' request threads)."""

    def __init__(self, delay_share: float, delay_seconds: float, skus: list[str]):
        self.by_platform = {
            "taobao": LoadTaobao(now=datetime.now(SHANGHAI)),
            "jd": LoadJd(),
            "pdd": PddDouble(),
        }
        for double in self.by_platform.values():
            double.__enter__()
            double.delay_share(delay_share, delay_seconds)
        self.by_platform["taobao"].index_delay = timedelta(0)
        self.by_platform["jd"].index_delay = timedelta(0)
        for n, code in enumerate(skus):  # the items on sale, for the hub's stock write-back
            self.by_platform["taobao"].add_item(code, 600_000_000 + n, 700_000_000 + n)
            self.by_platform["jd"].add_sku(code)
            self.by_platform["pdd"]._item(code, Decimal("0.00"), 1)
        self.own: OwnShopDouble | None = None
        self.connected: dict[str, int | None] = {}  # shop code → its sync interval before the run
        self.put_at: dict[str, float] = {}  # channel order id → wall time it was put in

    def close(self) -> None:
        """Stop the doubles; the shops pointed at them point at the sandbox's closed port again, with
        the sync interval they had (the server is stopped by now)."""
        from zhongshu.channels.models import ShopCredential, SyncState
        from zhongshu.sandbox import LOCAL_PLATFORM

        for double in [*self.by_platform.values(), *([self.own] if self.own else [])]:
            double.__exit__(None, None, None)
        ShopCredential.objects.filter(shop__code__in=list(self.connected)).update(api_base_url=LOCAL_PLATFORM)
        for shop, interval in self.connected.items():
            if interval is not None:
                SyncState.objects.filter(shop__code=shop).update(interval_seconds=interval)

    def connect_own(self, shop, secret: str) -> None:
        """The own shop's callbacks (stock, shipments) to the own-shop double, signed with `secret`."""
        from zhongshu.channels.models import ShopCredential

        self.connected.setdefault(shop.code, None)
        if self.own is None:
            self.own = OwnShopDouble(secret)
            self.own.__enter__()
            self.own.delay_share(
                self.by_platform["pdd"]._delay_share[0], self.by_platform["pdd"]._delay_share[1]
            )
        ShopCredential.objects.filter(shop=shop).update(api_base_url=self.own.url)

    def connect(self, shop) -> None:
        """Shop (in the sandbox) → its platform's double: app key and secret, a fresh token, a cursor
        at now and a sync every second."""
        from zhongshu.channels.models import ShopCredential, SyncState

        double = self.by_platform[shop.platform]
        expires = timezone.now() + timedelta(days=1)
        if shop.platform == "taobao":
            token = double.issue_token()
            key, secret, access, refresh = (
                double.app_key,
                double.app_secret,
                token["access_token"],
                token["refresh_token"],
            )
        elif shop.platform == "jd":
            t = double.issue_token(expires_at=datetime.now(SHANGHAI) + timedelta(days=1))
            key, secret, access, refresh = double.app_key, double.app_secret, t.access, t.refresh
        else:
            t = double.issue_token()
            key, secret, access, refresh = (
                double.client_id,
                double.client_secret,
                t.access_token,
                t.refresh_token,
            )
        cred = ShopCredential.objects.filter(shop=shop).first() or ShopCredential(shop=shop)
        cred.api_base_url, cred.app_key, cred.needs_reauth, cred.expires_at = double.url, key, False, expires
        cred.app_secret, cred.access_token, cred.refresh_token = secret, access, refresh
        cred.save()
        before = SyncState.objects.filter(shop=shop).values_list("interval_seconds", flat=True).first()
        self.connected[shop.code] = before or SyncState._meta.get_field("interval_seconds").default
        SyncState.objects.update_or_create(
            shop=shop,
            defaults={"enabled": True, "interval_seconds": 1, "last_run_at": None,
                      "cursor": timezone.now() - LAG[shop.platform] - AHEAD - timedelta(seconds=10),
                      "last_error": "", "backfill_from": None, "backfill_to": None},
        )  # fmt: skip

    def put(self, platform: str, body: dict) -> None:
        """The order as the platform shows it once paid; its platform time `lag` + 2 s back."""
        now = time.time()
        at = datetime.fromtimestamp(now, SHANGHAI).replace(microsecond=0) - LAG[platform] - AHEAD
        double, oid, r = self.by_platform[platform], body["channel_order_id"], body["receiver"]
        lines = [(ln["sku"], ln["unit_price"], ln["quantity"]) for ln in body["lines"]]
        if platform == "taobao":
            trade, receiver = _trade(body, at), {"name": r["name"], "mobile": r["phone"], "state": r["province"],
                                                  "city": "", "district": "", "address": r["address"]}  # fmt: skip
            with double._lock:  # the request threads iterate these dicts
                double.put_trade(trade, receiver, at)
        elif platform == "jd":
            consignee = Consignee(r["name"], r["phone"], r["province"], "", "", r["address"])
            with double._lock:
                double.add_order(oid, at, lines, paid=at, modified=at, consignee=consignee)
        else:
            double.add_order(oid, at, lines, name=r["name"], phone=r["phone"], province=r["province"], city="",
                             town="", detail=r["address"])  # fmt: skip
        self.put_at[oid] = now

    def change(self, platform: str, body: dict) -> None:
        """A cancel or a refund request on the platform (a second later than the order at least)."""
        now = datetime.now(SHANGHAI).replace(microsecond=0) - LAG[platform] - AHEAD
        oid, status = body["channel_order_id"], body["status"]
        at = max(now, datetime.fromtimestamp(self.put_at[oid], SHANGHAI).replace(microsecond=0)
                 - LAG[platform] - AHEAD + timedelta(seconds=1))  # fmt: skip
        double = self.by_platform[platform]
        with double._lock if platform != "pdd" else nullcontext():  # PDD's change() locks itself
            if platform == "taobao":
                if status == "cancelled":
                    double.modify(oid, at, status="TRADE_CLOSED_BY_TAOBAO")
                else:
                    double.set_refund(oid, at, "WAIT_SELLER_AGREE")
            elif platform == "jd":
                double.modify(oid, at, "TRADE_CANCELED" if status == "cancelled" else "LOCKED")
            elif status == "cancelled":
                double.change(oid, at, confirm_status=2)
            else:
                double.change(oid, at, refund_status=2)

    def stats(self) -> dict:
        """Per platform: requests the hub made (pulls, stock write-back), answers delayed past its timeout."""
        doubles = {**self.by_platform, **({"own": self.own} if self.own else {})}
        out = {p: {"requests": len(d.requests), "timeouts": d.delayed} for p, d in doubles.items()}
        return {p: v for p, v in out.items() if v["requests"]}


def _trade(body: dict, at: datetime) -> dict:
    tid, stamp = int(body["channel_order_id"]), at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    subs = [
        {"oid": tid * 10 + n, "title": ln["sku"], "price": ln["unit_price"], "num": ln["quantity"],
         "total_fee": ln["paid_amount"], "payment": ln["paid_amount"], "discount_fee": "0.00", "adjust_fee": "0.00",
         "status": "WAIT_SELLER_SEND_GOODS", "refund_status": "NO_REFUND", "outer_iid": "SPU-" + ln["sku"],
         "outer_sku_id": ln["sku"]}
        for n, ln in enumerate(body["lines"])
    ]  # fmt: skip
    total = sum(Decimal(ln["unit_price"]) * ln["quantity"] for ln in body["lines"])
    return {"tid": tid, "status": "WAIT_SELLER_SEND_GOODS", "type": "fixed", "created": stamp, "pay_time": stamp,
            "payment": body["paid_amount"], "post_fee": "0.00", "discount_fee": "0.00", "total_fee": _fmt_money(total),
            "adjust_fee": "0.00", "buyer_open_uid": body["buyer"]["id"], "buyer_nick": body["buyer"]["nick"],
            "orders": {"order": subs}}  # fmt: skip


def run_feed(events: list, doubles: Doubles, start_at: float, stop: threading.Event, errors: Counter) -> None:
    """Put each pull event (due, kind, platform, body) into its double at its due second."""
    for due, kind, platform, body in events:
        wait = start_at + due - time.time()
        if wait > 0 and stop.wait(wait):
            return
        try:
            (doubles.put if kind == "new" else doubles.change)(platform, body)
        except Exception as exc:  # noqa: BLE001 - counted; the run goes on
            errors[f"pull_feed_{type(exc).__name__}"] += 1


def run_files(chunks: list, start_at: float, stop: threading.Event, errors: Counter, handed: dict) -> None:
    """Each chunk (end second, shop, [bodies]) as a JSON Lines file through `zhongshu import`, in order."""
    folder = Path(tempfile.mkdtemp(prefix="zhongshu-loadtest-"))
    for n, (end, shop, bodies) in enumerate(chunks):
        wait = start_at + end - time.time()
        if wait > 0 and stop.wait(wait):
            return
        path = folder / f"chunk-{n:05d}.jsonl"
        path.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies), encoding="utf-8")
        for b in bodies:
            handed.setdefault(b["channel_order_id"], time.time())
        done = subprocess.run([sys.executable, "-m", "zhongshu.cli", "import", str(path), "--shop", shop],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode:
            errors[f"file_import_exit_{done.returncode}"] += 1
        path.unlink()
    folder.rmdir()


def chunk_files(requests: list, every: float) -> list:
    """File events [(due, kind, shop, body)] → [(end second, shop, bodies)]; a chunk's updates after
    its new orders (one file line per version, the later one wins)."""
    chunks: dict[tuple[int, str], list] = {}
    for due, _kind, shop, body in requests:
        chunks.setdefault((int(due // every), shop), []).append(body)
    return [((k + 1) * every, shop, bodies) for (k, shop), bodies in sorted(chunks.items())]


# --- measuring ---------------------------------------------------------------------------------


class Sampler:
    """Every second: the queues, and per path the orders due so far the hub has not settled."""

    def __init__(self, start_at: float, dues: dict[str, list[float]], groups: dict[str, Q], since):
        self.start_at, self.groups, self.since = start_at, groups, since
        self.dues = {p: sorted(d) for p, d in dues.items()}
        self.samples: list[dict] = []

    def sample(self) -> dict:
        from huey.contrib.djhuey import HUEY

        from zhongshu.channels.models import PushInbox
        from zhongshu.core.models import OutboxEvent
        from zhongshu.orders.models import Order

        elapsed = time.time() - self.start_at
        mine = Order.objects.filter(ingested_at__gte=self.since)
        counts = mine.aggregate(
            **{f"in_{p}": Count("id", filter=q) for p, q in self.groups.items()},
            **{
                f"settled_{p}": Count("id", filter=q & ~Q(status__in=UNSETTLED))
                for p, q in self.groups.items()
            },
        )
        try:
            huey = HUEY.pending_count()
            # the messages' task names, without the task registry (this process imports no tasks)
            raw = HUEY.storage.enqueued_items(2000) if huey else []
            names = Counter(HUEY.serializer.deserialize(m).name.rsplit(".", 1)[-1] for m in raw)
        except Exception:  # noqa: BLE001 - another storage may not count
            huey, names = None, {}
        row = {
            "t": round(elapsed, 1),
            "outbox_pending": OutboxEvent.objects.filter(delivered_at__isnull=True).count(),
            "push_inbox_pending": PushInbox.objects.filter(taken_at__isnull=True).count(),
            "tasks_pending": huey,
            "tasks_by_name": dict(names),
            "due": {p: sum(1 for d in self.dues[p] if d <= elapsed) for p in self.groups},
            "in_hub": {p: counts[f"in_{p}"] for p in self.groups},
            "unsettled": {p: max(0, sum(1 for d in self.dues[p] if d <= elapsed) - counts[f"settled_{p}"])
                          for p in self.groups},
            "lag_seconds": {p: self._lag(p, elapsed, counts[f"settled_{p}"]) for p in self.groups},
        }  # fmt: skip
        self.samples.append(row)
        return row

    def _lag(self, path: str, elapsed: float, settled: int) -> float:
        """How far the hub is behind on a path: seconds since the first order it has not settled yet
        was due, taking orders as settled in the order they were due (0 when it is up to date)."""
        dues = self.dues[path]
        if settled >= len(dues) or dues[settled] > elapsed:
            return 0.0
        return round(elapsed - dues[settled], 1)


def settle_times(since, put_at: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(channel order id → wall time first allocated, → wall time first settled) of the run's orders."""
    from zhongshu.orders.models import OrderTransition

    allocated, settled = {}, {}
    rows = (
        OrderTransition.objects.filter(order__ingested_at__gte=since)
        .exclude(to_status__in=UNSETTLED)
        .order_by("at")
        .values_list("order__channel_order_id", "to_status", "at")
    )
    for oid, status, at in rows.iterator(chunk_size=2000):
        if oid not in put_at:
            continue
        settled.setdefault(oid, at.timestamp())
        if status == "allocated":
            allocated.setdefault(oid, at.timestamp())
    return allocated, settled


def percentiles(values: list[float]) -> dict:
    v = sorted(values)
    pick = lambda q: round(v[min(len(v) - 1, int(len(v) * q))] * 1000, 1) if v else 0.0  # noqa: E731
    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99)}
