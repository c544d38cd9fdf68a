"""An open-loop HTTP load client (its own process; prints one JSON object).

  .venv/bin/python bench/loadclient.py --url http://127.0.0.1:8000 --token TOKEN --rate 300 --seconds 60

Requests leave on schedule (`rate` per second) whatever the answers take — a slow server does not
slow the offered load down, as a closed-loop client would. Each request's latency is counted from
the moment it was due, so time spent waiting for a free connection on this side counts too. A
small asyncio HTTP/1.1 client over kept-alive connections (opened as needed) keeps the client's own
cost low on a machine it shares with the server.

Paths: `orders` (POST /api/v1/orders, one generated order each) or `push` (POST /api/v1/push/SHOP,
signed own-shop webhooks; --secret). The server's own account of each answered request (its
Server-Timing: time in the hub, CPU, SQL, write-lock wait) is summed up in `server_timing_ms`.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orders_gen import make_order  # noqa: E402

WAITED: list[float] = []  # the server's own account of a 503: ms waited for a thread
BUDGET_503 = [0]  # 503s of requests whose time budget ran out waiting for the database
TIMING: dict[str, dict[str, list[float]]] = {}  # status → Server-Timing name → ms (app, cpu, db, lock)


class Pool:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def request(self, raw: bytes, timeout: float) -> int:
        """Send on an idle kept-alive connection (once more on a new one if the server had closed
        it meanwhile, as HTTP clients do), else on a new connection."""
        while self.idle:
            try:
                return await self._send(self.idle.pop(), raw, timeout)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if getattr(exc, "partial", b""):
                    raise  # an answer was under way: not a stale connection
        conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        self.opened += 1
        return await self._send(conn, raw, timeout)

    async def _send(self, conn, raw: bytes, timeout: float) -> int:
        reader, writer = conn
        try:
            writer.write(raw)
            status, close = await asyncio.wait_for(_read_response(reader), timeout)
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append(conn)
        return status


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if len(lines[0].split()) < 2:
        raise ValueError(repr(head[:200]))
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    if "content-length" not in headers:
        raise ValueError(repr(head[:400]))
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    if status == 503 and b"waited_ms" in body:
        WAITED.append(json.loads(body)["waited_ms"])
    elif status == 503 and b"budget_ms" in body:
        BUDGET_503[0] += 1
    if "server-timing" in headers:
        spent = TIMING.setdefault(str(status), {})
        for part in headers["server-timing"].split(","):
            name, _, dur = part.strip().partition(";dur=")
            spent.setdefault(name, []).append(float(dur))
    return status, headers.get("connection", "").lower() == "close"


def build(host: str, path: str, body: bytes, headers: dict) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def requests_for(args, total: int) -> list[bytes]:
    """Every request prepared before the clock starts (signing and JSON cost nothing during the run)."""
    host = urlsplit(args.url).netloc
    out = []
    for n in range(total):
        if args.path == "orders":
            body = json.dumps(make_order(args.start + n, prefix=args.prefix), ensure_ascii=False).encode()
            out.append(build(host, "/api/v1/orders", body, {"Authorization": f"Bearer {args.token}"}))
        else:
            order = make_order(args.start + n, shop=args.shop, prefix=args.prefix)
            body = json.dumps({"orders": [order]}, ensure_ascii=False).encode()
            msg_id = f"msg-{args.prefix}{args.start + n}"
            ts = str(int(time.time()))
            mac = hmac.new(args.secret.encode(), f"{msg_id}.{ts}.".encode() + body, hashlib.sha256)
            hdrs = {"X-Zhongshu-Message-Id": msg_id, "X-Zhongshu-Timestamp": ts,
                    "X-Zhongshu-Signature": "sha256=" + mac.hexdigest()}  # fmt: skip
            out.append(build(host, f"/api/v1/push/{args.shop}", body, hdrs))
    return out


async def run(args) -> dict:
    parts = urlsplit(args.url)
    pool = Pool(parts.hostname, parts.port or 80)
    total = int(args.rate * args.seconds)
    raws = requests_for(args, total)
    latencies: list[float] = []
    slowest: dict[str, float] = {}
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    timeline: dict[float, dict[str, int]] = {}  # half-second the request was due in → status → count

    async def one(raw: bytes, due: float) -> None:
        try:
            status = await pool.request(raw, args.timeout)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        except Exception as exc:  # timeout, reset: the client gave up
            if isinstance(exc, ValueError) and not errors:
                print("first bad answer:", exc, file=sys.stderr)
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            status = None
        took = time.perf_counter() - due
        slot = timeline.setdefault((due - start) // 0.5 * 0.5, {})
        slot[str(status)] = slot.get(str(status), 0) + 1
        latencies.append(took)
        slowest[str(status)] = max(slowest.get(str(status), 0.0), took)

    start = time.perf_counter() + 0.2
    tasks = []
    for n, raw in enumerate(raws):
        due = start + n / args.rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, due)))
    sent_by = time.perf_counter() - start
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    latencies.sort()
    ok = sum(v for k, v in statuses.items() if k in ("200", "201"))
    return {
        "offered_per_s": args.rate,
        "requests": total,
        "sent_in_s": round(sent_by, 1),
        "ok": ok,
        "ok_per_s": round(ok / elapsed, 1),
        "statuses": statuses,
        "client_errors": errors,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "over_2s": sum(1 for x in latencies if x > 2.0),
        "max_ms_by_status": {k: round(v * 1000, 1) for k, v in slowest.items()},
        "connections": pool.opened,
        "server_wait_ms_of_503": {"p50": round(statistics.median(WAITED)), "max": round(max(WAITED))}
        if WAITED
        else {},
        "503_budget": BUDGET_503[0],
        "timeline": {f"{t:g}": by for t, by in sorted(timeline.items())},  # when the refusals came
        "server_timing_ms": {  # status → name (app, cpu, db, lock) → mean, p50, p99, max
            status: {name: _summary(values) for name, values in spent.items()}
            for status, spent in TIMING.items()
        },
    }


def _summary(values: list[float]) -> dict:
    """mean, p50, p99 and max of the server's own times (Server-Timing)."""
    values = sorted(values)
    return {"mean": round(statistics.fmean(values), 2), "p50": round(statistics.median(values), 2),
            "p99": round(values[min(len(values) - 1, int(len(values) * 0.99))], 2),
            "max": round(values[-1], 2)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--path", choices=["orders", "push"], default="orders")
    p.add_argument("--token", default="")
    p.add_argument("--shop", default="mp")
    p.add_argument("--secret", default="", help="the own shop's webhook secret (push)")
    p.add_argument("--rate", type=float, default=300)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--start", type=int, default=0, help="first order number")
    p.add_argument("--prefix", default="H")
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
