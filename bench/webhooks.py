"""Outgoing webhooks benchmark (prints figures; asserts nothing): fan-out of 1,000 events to 3
subscribers (issue 10: "webhook fan-out 1,000 events × 3 subscribers (deliveries/s)").

  .venv/bin/python bench/webhooks.py                       # SQLite only
  .venv/bin/python bench/webhooks.py --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench

Setup (not measured): N paid orders imported and allocated (the JSONL import path), their outbox
events marked delivered; three subscribers to `order.allocated`, each a local HTTP server in its own
process (keep-alive, answers 204 at once, counts distinct `webhook-id`s and checks one signature each).
Then N `order.status_changed → allocated` events (the real shape, one per order) are written at once.
1. Fan-out: the webhooks' outbox consumer over the N events, in relay-sized transactions (each makes
   the message, with the order's masked payload, and one delivery per subscriber).
2. Sending: the worker's dispatch (webhooks/dispatch.py) until every delivery is delivered; signed,
   8 requests in flight. deliveries/s = N × 3 / time.
Also printed: SQL statements per fanned-out event. Each database runs in a child process with its own
ZHONGSHU_HOME.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common
import intake

RECEIVERS = r"""
import base64, hashlib, hmac, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

secret = base64.b64decode(sys.argv[1].removeprefix("whsec_"))
servers, seen, bad = [], [set(), set(), set()], [0]

def handler(n):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        def do_GET(self):
            body = json.dumps({"distinct": [len(s) for s in seen], "bad_signatures": bad[0]}).encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            mid, ts = self.headers["webhook-id"], self.headers["webhook-timestamp"]
            if not seen[n]:  # check the first signature of each server
                mac = hmac.new(secret, f"{mid}.{ts}.".encode() + body, hashlib.sha256).digest()
                if self.headers["webhook-signature"] != "v1," + base64.b64encode(mac).decode():
                    bad[0] += 1
            seen[n].add(mid)
            self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *a): pass
    return H

for n in range(3):
    s = ThreadingHTTPServer(("127.0.0.1", 0), handler(n)); s.daemon_threads = True
    threading.Thread(target=s.serve_forever, daemon=True).start(); servers.append(s)
print(json.dumps([s.server_address[1] for s in servers]), flush=True)
sys.stdin.read()  # until the parent closes our stdin
"""


def setup(n: int) -> list:
    """N allocated orders; their outbox emptied; returns N fresh allocated events (unsaved)."""
    from zhongshu.channels.own.jsonl import import_jsonl
    from zhongshu.core.models import OutboxEvent
    from zhongshu.orders.batch import transition_event
    from zhongshu.orders.models import Order

    intake.setup_hub()
    path = Path(os.environ["ZHONGSHU_HOME"]) / "orders.jsonl"
    path.write_text("".join(json.dumps(intake.make_order(i), ensure_ascii=False) + "\n" for i in range(n)))
    import_jsonl(path, "mp", batch_size=500)
    OutboxEvent.objects.update(delivered_at="2026-01-01T00:00:00Z")
    orders = Order.objects.select_related("shop", "warehouse").order_by("pk")[:n]
    return [transition_event(o, "paid", "allocated", "bench", "bench") for o in orders]


def child(db: str, n: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from zhongshu.core import outbox
    from zhongshu.core.models import OutboxEvent
    from zhongshu.webhooks import dispatch, services
    from zhongshu.webhooks.models import WebhookDelivery

    events = setup(n)
    secret = services.new_secret()
    proc = subprocess.Popen([sys.executable, "-c", RECEIVERS, secret], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        ports = json.loads(proc.stdout.readline())
        for port in ports:
            ep, _ = services.create_endpoint(
                f"http://127.0.0.1:{port}/hook", ["order.allocated"], "bench", "bench"
            )
            ep.secret = secret  # one secret for all three, so the receivers can check signatures
            ep.save()
        with transaction.atomic():
            outbox.write(events)
        rows = list(
            OutboxEvent.objects.filter(delivered_at__isnull=True, topic="order.status_changed").order_by("id")
        )

        with transaction.atomic(), CaptureQueriesContext(connection) as sql:
            for ev in rows[:10]:
                services.fan_out(ev)
        per_event = len(sql.captured_queries) / 10
        t0 = time.perf_counter()
        for i in range(0, len(rows), 500):  # as the relay does: one transaction per batch of 500
            with transaction.atomic():
                for ev in rows[i : i + 500]:
                    services.fan_out(ev)
        fanout = time.perf_counter() - t0
        made = WebhookDelivery.objects.count()

        t1 = time.perf_counter()
        while WebhookDelivery.objects.filter(status="pending").exists():
            dispatch.dispatch_due()
        send = time.perf_counter() - t1
        import httpx

        counts = httpx.get(f"http://127.0.0.1:{ports[0]}/").json()
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    delivered = WebhookDelivery.objects.filter(status="delivered").count()
    return {
        "database": db,
        "events": len(rows),
        "subscribers": len(ports),
        "deliveries": made,
        "delivered": delivered,
        "received_distinct_per_server": counts["distinct"],
        "bad_signatures": counts["bad_signatures"],
        "fanout_sql_per_event": per_event,
        "fanout_s": round(fanout, 2),
        "fanout_events_per_s": round(len(rows) / fanout),
        "send_s": round(send, 2),
        "send_deliveries_per_s": round(delivered / send),
        "end_to_end_deliveries_per_s": round(delivered / (fanout + send)),
        "in_flight": settings.WEBHOOK_CONCURRENCY,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1_000)
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.events), ensure_ascii=False))
        return
    env = {"ZHONGSHU_WEBHOOK_ALLOW_PRIVATE": "1"}  # the subscribers are on 127.0.0.1
    results = [common.run_child(__file__, ["sqlite", "--events", str(args.events)], None, env)]
    if args.postgres:
        results.append(
            common.run_child(__file__, ["postgresql", "--events", str(args.events)], args.postgres, env)
        )
    common.print_table(results)


if __name__ == "__main__":
    main()
