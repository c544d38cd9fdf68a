"""`loadtest`: replay a realistic order stream through the HTTP API of a sandbox (or a given server).

The stream and the checks: zhongshu.loadtest; the client, in its own process: zhongshu.loadgen; the
server: `zhongshu serve` started for the sandbox (its log in the sandbox's home, loadtest-server.log).
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from zhongshu.cli.base import EXIT_FAILED, EXIT_OK, _fail, _setup, app, err, out
from zhongshu.cli.sandbox import use_sandbox

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


def _seconds(text: str) -> float:
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise typer.BadParameter(f"'{text}': a duration like 90s, 10m, 1h")
    return float(m[1]) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m[2]]


@app.command()
def loadtest(
    sandbox: Annotated[
        str,
        typer.Option(
            "--sandbox",
            metavar="NAME",
            envvar="ZHONGSHU_SANDBOX",
            help="The sandbox to load (a server is started).",
        ),
    ] = "",
    multiplier: Annotated[
        float, typer.Option("--multiplier", min=0.01, help="Times the instance's normal busiest hour.")
    ] = 10.0,
    rate: Annotated[
        float, typer.Option("--rate", min=0, help="Mean orders per second (instead of --multiplier).")
    ] = 0.0,
    duration: Annotated[str, typer.Option("--duration", help="How long to send: 90s, 10m, 1h.")] = "10m",
    orders: Annotated[int, typer.Option("--orders", min=0, help="Stop after this many new orders.")] = 0,
    channels: Annotated[
        str, typer.Option("--channels", help="Shop codes, comma-separated (default: all active shops).")
    ] = "",
    curve: Annotated[
        str, typer.Option("--curve", help="auto, history or double11 (see zhongshu.loadtest).")
    ] = "auto",
    url: Annotated[str, typer.Option("--url", help="Load this running server instead of starting one.")] = "",
    token: Annotated[
        str, typer.Option("--token", help="API token for --url (default: one created here).")
    ] = "",
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Web workers of the started server.")
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Replay a realistic order stream (hourly curve, hot SKUs, repeat buyers, cancels, refunds) through
    POST /api/v1/orders, then report throughput, latency, errors and the stock invariants."""
    if not sandbox and not url:
        raise _fail("loadtest writes orders: name a sandbox (--sandbox NAME, see `zhongshu sandbox create`) "
                    "or the server to load (--url)")  # fmt: skip
    if sandbox:
        use_sandbox(sandbox)
    _setup()
    from django.conf import settings
    from django.db import connections

    from zhongshu import loadtest as lt

    if curve not in ("auto", "history", "double11"):
        raise _fail(f"--curve {curve}: one of auto, history, double11")
    seconds = _seconds(duration)
    shape, busiest = lt.history_curve()
    if curve == "double11" or (curve == "auto" and shape is None):
        shape, curve = lt.double11_curve(), "double11"
    elif shape is None:
        raise _fail("--curve history: the instance has too little history (500 orders over 7 days)")
    else:
        curve = "history"
    mean_rate = rate or multiplier * busiest
    if orders and not rate and duration == "10m":
        seconds = orders / mean_rate
    dues = lt.due_times(mean_rate, seconds, shape, orders or None)
    shops = [c.strip() for c in channels.split(",") if c.strip()] or lt.default_shops()
    unknown = set(shops) - set(lt.default_shops())
    if unknown:
        raise _fail(f"--channels: no active shop {', '.join(sorted(unknown))}")
    prefix = f"LT{int(time.time()) % 10**6:06d}-"
    requests = lt.plan_orders(dues, shops, prefix)
    token = token or _token()
    connections.close_all()
    log = Path(settings.HOME) / "loadtest-server.log"
    server = None
    if not url:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = _start_server(port, workers, log)
    try:
        if server:
            _wait_ready(url, token, server, log)
        plan = {"url": url, "token": token, "requests": requests}
        result = _drive(plan, quiet=as_json)
    finally:
        if server:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    report = {
        "sandbox": settings.SANDBOX or None,
        "curve": curve,
        "offered_per_second": round(mean_rate, 2),
        "orders": sum(1 for r in requests if r[1] == "new"),
        "updates": sum(1 for r in requests if r[1] == "update"),
        "seconds": result["seconds"],
        "orders_per_second": round(sum(result["answered"].values()) / max(result["seconds"], 0.001), 1),
        "latency_ms": result["latency_ms"],
        "request_latency_ms": result["request_latency_ms"],
        "answered": result["answered"],
        "errors": result["errors"],
        **lt.check_stock(),
        **lt.outcome(prefix),
    }
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print(report)
    raise typer.Exit(
        EXIT_OK if report["oversold"] == 0 and not report["reserved_mismatch_count"] else EXIT_FAILED
    )


def _token() -> str:
    from django.contrib.auth import get_user_model

    from zhongshu.core.auth import create_token

    users = get_user_model()
    if not users.objects.filter(username="loadtest").exists():
        users.objects.create_superuser("loadtest", email="", password=None)
    return create_token("loadtest", "loadtest", "intake")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, workers: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "zhongshu.cli", "serve", "--port", str(port), "--workers", str(workers),
           "--no-access-log"]  # fmt: skip
    with open(log, "ab") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ))


def _wait_ready(url: str, token: str, server: subprocess.Popen, log: Path) -> None:
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


def _drive(plan: dict, quiet: bool) -> dict:
    """Run zhongshu.loadgen in its own process; show its progress on one line of stderr."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(plan, fh, ensure_ascii=False)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zhongshu.loadgen", fh.name], stdout=subprocess.PIPE, text=True
        )
        result = None
        for line in proc.stdout:
            msg = json.loads(line)
            if "progress" in msg and not quiet:
                p = msg["progress"]
                err.print(
                    f"\r{p['elapsed']:>6.1f} s  sent {p['sent']}/{p['total']}  answered {p['done']}  "
                    f"errors {p['errors']}  p95 {p['p95_ms']} ms   ", end="",
                )  # fmt: skip
            result = msg.get("result", result)
        proc.wait()
        if not quiet:
            err.print()
        if result is None:
            raise _fail(f"the load generator failed (exit {proc.returncode})")
        return result
    finally:
        os.unlink(fh.name)


def _print(r: dict) -> None:
    lat, req = r["latency_ms"], r["request_latency_ms"]
    out.print(f"压测 / load test: {r['orders']} orders + {r['updates']} cancels/refunds in {r['seconds']} s "
              f"(curve {r['curve']}, offered {r['offered_per_second']}/s)")  # fmt: skip
    out.print(f"throughput {r['orders_per_second']} orders/s; answered {r['answered']}")
    out.print(f"intake → allocated p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms "
              f"(every request: p99 {req['p99']} ms, max {req['max']} ms)")  # fmt: skip
    out.print(f"errors {r['errors'] or 'none'}")
    out.print(f"in the hub: {r['by_status']}; repeat buyers {r['repeat_buyers']}")
    out.print(f"oversold rows {r['oversold']}; reserved ≠ Σ open orders: {r['reserved_mismatch_count']}")
    for row in r["oversold_rows"] + r["reserved_mismatch"]:
        out.print(f"  {row}")
