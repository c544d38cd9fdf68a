"""The load test's server and client processes and its printed report (`zhongshu loadtest`,
zhongshu.cli.loadtest): an API token for the run, `zhongshu serve` on a free port and its readiness,
the load generator (zhongshu.loadgen) in its own process, and the report as text."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from zhongshu.cli.base import _fail, out


def token_for_run() -> str:
    from django.contrib.auth import get_user_model

    from zhongshu.core.auth import create_token

    users = get_user_model()
    if not users.objects.filter(username="loadtest").exists():
        users.objects.create_superuser("loadtest", email="", password=None)
    return create_token("loadtest", "loadtest", "intake")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "zhongshu.cli", "serve", "--port", str(port), "--workers", str(workers),
           "--no-access-log"]  # fmt: skip
    with open(log, "ab") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ))


def wait_ready(url: str, token: str, server: subprocess.Popen, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise _fail(f"the server stopped (exit {server.returncode}); see {log}")
        try:
            r = httpx.get(
                f"{url}/api/v1/orders?limit=1", headers={"Authorization": f"Bearer {token}"}, timeout=2
            )
            if r.status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise _fail(f"the server did not answer within 60 s; see {log}")


class Generator:
    """zhongshu.loadgen in its own process; its latest progress line and its result."""

    def __init__(self, plan: dict):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
            json.dump(plan, fh, ensure_ascii=False)
        self.path, self.progress, self.result = fh.name, {}, None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zhongshu.loadgen", fh.name], stdout=subprocess.PIPE, text=True
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            msg = json.loads(line)
            self.progress = msg.get("progress", self.progress)
            self.result = msg.get("result", self.result)

    def running(self) -> bool:
        return self.reader.is_alive()

    def finish(self) -> dict:
        self.proc.wait()
        self.reader.join()
        os.unlink(self.path)
        if self.result is None:
            raise _fail(f"the load generator failed (exit {self.proc.returncode})")
        return self.result


def print_report(r: dict) -> None:
    lat, req, db, tp = r["latency_ms"], r["request_latency_ms"], r["db_ms"], r["third_party"]
    out.print(f"压测 / load test: {r['orders']} orders + {r['updates']} cancels/refunds in {r['seconds']} s "
              f"(curve {r['curve']}, offered {r['offered_per_second']}/s; by path {r['paths']})")  # fmt: skip
    out.print(f"throughput {r['orders_per_second']} orders/s settled; first order → last settled "
              f"{r['first_to_last_settled_seconds']} s; missing {r['missing']}")  # fmt: skip
    out.print(f"intake → allocated p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms")
    for path, v in r["latency_ms_by_path"].items():
        out.print(f"  {path:<5} p50 {v['p50']} ms, p95 {v['p95']} ms, p99 {v['p99']} ms")
    if r["answered"] or r["db_ms"]["requests"]:
        out.print(f"HTTP requests: p99 {req['p99']} ms, max {req['max']} ms; answered {r['answered']}")
    if db["requests"]:
        out.print(f"SQL time per request (Server-Timing db): p50 {db['p50']} ms, p99 {db['p99']} ms; "
                  f"write lock wait p99 {r['db_lock_ms']['p99']} ms")  # fmt: skip
    if tp["requests"]:
        out.print(f"platform doubles: {tp['requests']} requests, {tp['timeouts']} past the timeout "
                  f"({tp['timeout_rate']:.1%})")  # fmt: skip
    peaks = r["backlog_max"]
    out.print(f"backlog peaks: unsettled {peaks['unsettled']} (the hub {peaks['lag_seconds']} s behind), "
              f"outbox {peaks['outbox_pending']}, push inbox "
              f"{peaks['push_inbox_pending']}, tasks {peaks['tasks_pending']} (every second: --json backlog)")  # fmt: skip
    out.print(f"errors {r['errors'] or 'none'}")
    out.print(f"in the hub: {r['by_status']}; repeat buyers {r['repeat_buyers']}")
    out.print(f"oversold rows {r['oversold']}; reserved ≠ Σ open orders: {r['reserved_mismatch_count']}")
    for row in r["oversold_rows"] + r["reserved_mismatch"]:
        out.print(f"  {row}")
