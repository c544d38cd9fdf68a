"""`loadtest`: replay a realistic order stream through the ways into a sandbox (or a given server).

The stream, its routing to the paths and the checks: zhongshu.loadtest; the HTTP client (API and
pushes), in its own process: zhongshu.loadgen; the platform doubles, the import files and the
sampling of the hub's queues, in this process: zhongshu.loadpaths; the server: `zhongshu serve`
started for the sandbox with its worker (its log in the sandbox's home, loadtest-server.log).
"""

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from zhongshu.cli.base import EXIT_FAILED, EXIT_OK, _fail, _setup, app, err
from zhongshu.cli.loadtest_procs import (
    Generator,
    free_port,
    print_report,
    start_server,
    token_for_run,
    wait_ready,
)
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
    paths: Annotated[
        str,
        typer.Option(
            "--paths",
            help="Ways in, comma-separated: api, pull (platform doubles pulled by the connectors), push "
            "(signed own-shop pushes), file (zhongshu import). Default: all four in a sandbox, api with --url.",
        ),
    ] = "",
    timeouts: Annotated[
        float,
        typer.Option(
            "--timeouts", min=0, max=1, help="Share of the doubles' answers delayed past the timeout."
        ),
    ] = 0.02,
    platform_timeout: Annotated[
        float,
        typer.Option("--platform-timeout", min=0.1, help="Connectors' timeout in the sandbox server, s."),
    ] = 2.0,
    file_every: Annotated[
        str, typer.Option("--file-every", help="One import file per this much of the run (per shop).")
    ] = "5s",
    drain: Annotated[
        str, typer.Option("--drain", help="After the last order is sent, wait this long at most for the hub.")
    ] = "120s",
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
    the hub's real ways in — the HTTP API, platform doubles pulled by the connectors, signed pushes, file
    import — then report throughput, latency, queues, timeouts, errors and the stock invariants."""
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
    ways = {p.strip() for p in paths.split(",") if p.strip()} or (set(lt.PATHS) if sandbox else {"api"})
    if ways - set(lt.PATHS):
        raise _fail(f"--paths {paths}: some of {', '.join(lt.PATHS)}")
    if ways & {"pull", "file"} and not settings.SANDBOX:
        raise _fail(
            "--paths pull and file change shops' credentials and write orders directly: --sandbox only"
        )
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
    if "pull" in ways and not channels:
        _load_test_shops(lt.PULLED)
    platforms = lt.shop_platforms()
    shops = [c.strip() for c in channels.split(",") if c.strip()] or list(platforms)
    unknown = set(shops) - set(platforms)
    if unknown:
        raise _fail(f"--channels: no active shop {', '.join(sorted(unknown))}")
    if "push" in ways:
        secrets = _push_secrets([s for s in shops if platforms[s] == "own"], settings.SANDBOX)
        ways_by_shop = {
            s: ways - ({"push"} if platforms[s] == "own" and s not in secrets else set()) for s in shops
        }
    else:
        secrets, ways_by_shop = {}, {s: ways for s in shops}
    shops = [s for s in shops if lt.has_path(platforms[s], ways_by_shop[s])]
    if not shops:
        raise _fail(f"no shop takes orders by {', '.join(sorted(ways))} (see --channels, --paths)")
    run = int(time.time()) % 10**6
    prefix = f"LT{run:06d}-"
    planned = lt.route(lt.plan_orders(dues, shops, prefix), platforms, ways, prefix, run)
    if not planned:
        raise _fail("nothing to send: raise --rate, --duration or --orders")
    by_path = {p: [r for r in planned if r[2] == p] for p in lt.PATHS}
    by_path = {p: rs for p, rs in by_path.items() if rs}
    doubles = None
    if settings.SANDBOX and by_path.keys() & {"pull", "push"}:
        from zhongshu.catalog.models import Sku
        from zhongshu.loadpaths import Doubles

        skus = list(Sku.objects.filter(active=True).order_by("code").values_list("code", flat=True))
        doubles = Doubles(timeouts if not url else 0.0, platform_timeout + 0.5, skus)
        for shop in lt.active_shops().filter(code__in={r[3]["shop"] for r in by_path.get("pull", [])}):
            doubles.connect(shop)
        for shop in lt.active_shops().filter(code__in={r[3]["shop"] for r in by_path.get("push", [])}):
            doubles.connect_own(shop, secrets[shop.code])
        os.environ["ZHONGSHU_PLATFORM_TIMEOUT"] = str(platform_timeout)  # the server started below
    token = token or token_for_run()
    connections.close_all()
    log = Path(settings.HOME) / "loadtest-server.log"
    server = None
    if not url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(port, workers, log)
    try:
        warmup = {}
        if server:
            wait_ready(url, token, server, log)
            warmup = _warm_up(as_json)
        result = _run(url, token, secrets, by_path, doubles, platforms, (prefix, run), _seconds(file_every),
                      _seconds(drain), as_json)  # fmt: skip
    finally:
        if server:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        if doubles:
            doubles.close()
    new = [r for r in planned if r[1] == "new"]
    report = {
        "sandbox": settings.SANDBOX or None,
        "curve": curve,
        "offered_per_second": round(mean_rate, 2),
        "orders": len(new),
        "updates": len(planned) - len(new),
        "paths": {p: sum(1 for r in rs if r[1] == "new") for p, rs in by_path.items()},
        "warmup": warmup,
        **result,
        **lt.check_stock(),
        **lt.outcome(_any(lt.run_ids(prefix, run).values())),
    }
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        print_report(report)
    raise typer.Exit(
        EXIT_OK if report["oversold"] == 0 and not report["reserved_mismatch_count"] else EXIT_FAILED
    )


def _warm_up(quiet: bool, limit: float = 120.0) -> dict:
    """Let the started server's worker deliver the outbox events the copy carried over (an instance
    whose worker runs has few; a copy of one that ran without it, thousands), so the run meets the
    worker as a peak meets a running hub; at most `limit` seconds."""
    from django.db import connection

    from zhongshu.core.models import OutboxEvent

    began, first = time.time(), None
    while True:
        pending = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
        first = pending if first is None else first
        if pending <= 20 or time.time() - began > limit:
            break
        if not quiet:
            err.print(f"\rwarm-up: the worker delivers the copy's outbox, {pending} events left   ", end="")
        time.sleep(0.5)
    if not quiet and first > 20:
        err.print()
    connection.close()
    return {"outbox_pending_at_copy": first, "outbox_pending_at_start": pending,
            "seconds": round(time.time() - began, 1)}  # fmt: skip


def _any(qs):
    from functools import reduce
    from operator import or_

    return reduce(or_, qs)


def _load_test_shops(platforms: tuple[str, ...]) -> None:
    """A sandbox without a shop of these platforms gets one of each, named as the load test's."""
    from zhongshu.shops.models import Shop

    if Shop.objects.filter(active=True, platform__in=platforms).exists():
        return
    for platform in platforms:
        Shop.objects.get_or_create(code=f"lt-{platform}", defaults={"name": f"压测店铺 loadtest ({platform})",
                                                                     "platform": platform})  # fmt: skip


def _push_secrets(own_shops: list[str], in_sandbox: str) -> dict[str, str]:
    """The own shops' push secrets; in a sandbox one is set where a shop has none."""
    import secrets as random_secrets

    from zhongshu.channels.models import ShopCredential
    from zhongshu.shops.models import Shop

    found = {}
    for shop in Shop.objects.filter(code__in=own_shops):
        cred = ShopCredential.objects.filter(shop=shop).first()
        if (cred is None or not cred.push_secret) and in_sandbox:
            cred = cred or ShopCredential(shop=shop, app_key=shop.code)
            cred.push_secret = random_secrets.token_urlsafe(24)
            cred.save()
        if cred is not None and cred.push_secret:
            found[shop.code] = cred.push_secret
    return found


def _run(url, token, secrets, by_path, doubles, platforms, ids, file_every, drain, quiet) -> dict:
    """Send every path's orders from the same start second; sample the hub every second until every
    order is settled (or `drain` after the last one was due); the figures of the run."""
    from collections import Counter

    from django.db import connection
    from django.utils import timezone

    from zhongshu import loadpaths
    from zhongshu.loadtest import run_ids

    errors: Counter = Counter()
    since = timezone.now()
    start_at = time.time() + 1.0
    stop = threading.Event()
    threads, gen, handed = [], None, {}
    http = [r for p in ("api", "push") for r in by_path.get(p, [])]
    if http:
        gen = Generator({"url": url, "token": token, "secrets": secrets, "start_at": start_at,
                          "requests": sorted(http, key=lambda r: r[0])})  # fmt: skip
    if "pull" in by_path:
        events = [(d, k, platforms[b["shop"]], b) for d, k, _p, b in by_path["pull"]]
        threads.append(
            threading.Thread(target=loadpaths.run_feed, args=(events, doubles, start_at, stop, errors))
        )
    if "file" in by_path:
        chunks = loadpaths.chunk_files([(d, k, b["shop"], b) for d, k, _p, b in by_path["file"]], file_every)
        threads.append(
            threading.Thread(target=loadpaths.run_files, args=(chunks, start_at, stop, errors, handed))
        )
    for t in threads:
        t.daemon = True
        t.start()
    groups = {p: q for p, q in run_ids(*ids).items() if p in by_path}
    dues = {p: [d for d, k, _p, _b in rs if k == "new"] for p, rs in by_path.items()}
    sampler = loadpaths.Sampler(start_at, dues, groups, since)
    last_due = max(r[0] for rs in by_path.values() for r in rs)
    total = sum(len(v) for v in dues.values())
    sent_by = None
    try:
        while True:
            time.sleep(max(0.0, 1.0 - (time.time() - start_at) % 1.0))
            row = sampler.sample()
            sending = any(t.is_alive() for t in threads) or (gen is not None and gen.running())
            if not sending and sent_by is None:
                sent_by = time.time()
            if not quiet:
                _progress(row, gen, doubles, total)
            settled = total - sum(row["unsettled"].values()) if row["t"] > last_due else 0
            if sent_by and (settled >= total or time.time() - sent_by > drain):
                break
    except KeyboardInterrupt:
        err.print("\ninterrupted: reporting what arrived so far")
    finally:
        stop.set()
        if not quiet:
            err.print()
    answers = gen.finish() if gen else None
    put_at = {
        b["channel_order_id"]: start_at + d
        for p in ("api", "push")
        for d, k, _p, b in by_path.get(p, [])
        if k == "new"
    }
    put_at.update(handed)
    if doubles:
        put_at.update(doubles.put_at)
    path_of = {b["channel_order_id"]: p for p, rs in by_path.items() for _d, k, _p, b in rs if k == "new"}
    allocated, settled_at = loadpaths.settle_times(since, put_at)
    connection.close()
    lat = {p: [allocated[i] - put_at[i] for i in allocated if path_of.get(i) == p] for p in by_path}
    end = max(settled_at.values(), default=time.time())
    first = min(put_at.values(), default=start_at)
    in_hub = sum(sampler.samples[-1]["in_hub"].values()) if sampler.samples else 0
    third = doubles.stats() if doubles else {}
    asked = sum(v["requests"] for v in third.values())
    errors.update(_pull_failures(since))
    if answers:
        errors.update(answers["errors"])
    return {
        "seconds": round(end - start_at, 2),
        "first_to_last_settled_seconds": round(end - first, 2),
        "orders_per_second": round(len(settled_at) / max(end - start_at, 0.001), 1),
        "latency_ms": loadpaths.percentiles([v for vs in lat.values() for v in vs]),
        "latency_ms_by_path": {p: loadpaths.percentiles(v) for p, v in lat.items()},
        "allocated": len(allocated),
        "settled": len(settled_at),
        "missing": total - in_hub,
        "request_latency_ms": answers["request_latency_ms"]
        if answers
        else dict.fromkeys(("p50", "p95", "p99", "max"), 0.0),
        "answered": answers["answered"] if answers else {},
        "db_ms": answers["db_ms"] if answers else {"p50": 0.0, "p99": 0.0, "max": 0.0, "requests": 0},
        "db_lock_ms": answers["lock_ms"] if answers else {"p50": 0.0, "p99": 0.0, "max": 0.0, "requests": 0},
        "third_party": {
            "requests": asked,
            "timeouts": sum(v["timeouts"] for v in third.values()),
            "timeout_rate": round(sum(v["timeouts"] for v in third.values()) / asked, 4) if asked else 0.0,
            "by_platform": third,
        },  # fmt: skip
        "backlog": sampler.samples,
        "backlog_max": _peaks(sampler.samples),
        "errors": dict(errors),
    }


def _pull_failures(since) -> dict:
    """Failed pulls of the run by error kind (the shops' sync history)."""
    from django.db.models import Count

    from zhongshu.channels.models import SyncRun

    rows = SyncRun.objects.filter(started_at__gte=since, outcome=SyncRun.Outcome.FAILED)
    return {
        f"pull_{r['error_kind'] or 'failed'}": r["n"]
        for r in rows.values("error_kind").annotate(n=Count("id"))
    }


def _peaks(samples: list[dict]) -> dict:
    peak = lambda key: max((s[key] or 0 for s in samples), default=0)  # noqa: E731
    return {"outbox_pending": peak("outbox_pending"), "push_inbox_pending": peak("push_inbox_pending"),
            "tasks_pending": peak("tasks_pending"),
            "unsettled": max((sum(s["unsettled"].values()) for s in samples), default=0),
            "lag_seconds": max((max(s["lag_seconds"].values(), default=0) for s in samples), default=0)}  # fmt: skip


def _progress(row: dict, gen, doubles, total: int) -> None:
    p = gen.progress if gen else {}
    timeouts = sum(v["timeouts"] for v in doubles.stats().values()) if doubles else 0
    err.print(
        f"\r{row['t']:>6.1f} s  due {sum(row['due'].values())}/{total}  in hub {sum(row['in_hub'].values())}  "
        f"unsettled {sum(row['unsettled'].values())}  outbox {row['outbox_pending']}  inbox {row['push_inbox_pending']}  "
        f"http errors {p.get('errors', 0)}  p95 {p.get('p95_ms', 0)} ms  timeouts {timeouts}   ", end="",
    )  # fmt: skip
