"""The load generator of `zhongshu loadtest`: an open-loop asyncio HTTP client in its own process.

  python -m zhongshu.loadgen PLAN.json        (PLAN written by `zhongshu loadtest`)

No Django here: it reads the plan (the server's URL, a token, the wall-clock second the run starts,
and every request with the second it is due and its path: `api` = POST /api/v1/orders, `push` = a
signed own-shop push to POST /api/v1/push/SHOP, signed when it leaves with the shop's secret from the
plan), sends each request when it is due whatever the earlier ones take (open loop: a slow server
does not slow the offered load, as a closed-loop client would), and counts each latency from the
moment the request was due, so waiting for a free connection on this side counts too. Small HTTP/1.1
over kept-alive connections keeps the client's own cost low on a machine it shares with the server
(the approach of bench/loadclient.py).

The server's own account of each answer, its `Server-Timing` header (zhongshu.core.middleware), gives
the time in SQL per request (`db`) and waiting for the write lock (`lock`).

stdout: one JSON line a second, {"progress": {...}}, then one {"result": {...}}.
"""

import asyncio
import hashlib
import hmac
import json
import re
import sys
import time
from urllib.parse import urlsplit


class Pool:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.idle: list = []
        self.opened = 0

    async def request(self, raw: bytes, timeout: float) -> tuple[int, dict, bytes]:
        """On an idle kept-alive connection (again on a new one if the server had closed it)."""
        while self.idle:
            try:
                return await self._send(self.idle.pop(), raw, timeout)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if getattr(exc, "partial", b""):
                    raise
        conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        self.opened += 1
        return await self._send(conn, raw, timeout)

    async def _send(self, conn, raw: bytes, timeout: float) -> tuple[int, dict, bytes]:
        reader, writer = conn
        try:
            writer.write(raw)
            status, headers, body = await asyncio.wait_for(_read(reader), timeout)
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append(conn)
        return status, headers, body


async def _read(reader: asyncio.StreamReader) -> tuple[int, dict, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def _raw(host: str, path: str, data: bytes, headers: dict) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
            f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


class Request:
    """One request of the plan, its bytes made when it leaves (a push is signed with the time then)."""

    def __init__(self, host: str, plan: dict, n: int, path: str, body: dict):
        self.host, self.path, self.n = host, path, n
        self.token, self.secret = plan["token"], plan.get("secrets", {}).get(body["shop"], "")
        self.data = json.dumps({"orders": [body]} if path == "push" else body, ensure_ascii=False).encode()
        self.shop = body["shop"]

    def raw(self) -> bytes:
        if self.path != "push":
            return _raw(self.host, "/api/v1/orders", self.data, {"Authorization": f"Bearer {self.token}"})
        msg_id, ts = f"lt-{self.n}-{time.time_ns()}", str(int(time.time()))
        mac = hmac.new(self.secret.encode(), f"{msg_id}.{ts}.".encode() + self.data, hashlib.sha256)
        headers = {"X-Zhongshu-Message-Id": msg_id, "X-Zhongshu-Timestamp": ts,
                   "X-Zhongshu-Signature": "sha256=" + mac.hexdigest()}  # fmt: skip
        return _raw(self.host, f"/api/v1/push/{self.shop}", self.data, headers)


_TIMING = re.compile(r"(\w+);dur=([0-9.]+)")


def _server_timing(headers: dict) -> dict[str, float]:
    return {k: float(v) for k, v in _TIMING.findall(headers.get("server-timing", ""))}


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


async def run(plan: dict) -> dict:
    url = urlsplit(plan["url"])
    pool = Pool(url.hostname, url.port or 80)
    requests = [
        (r[0], r[1], Request(url.netloc, plan, n, r[2] if len(r) > 3 else "api", r[-1]))
        for n, r in enumerate(plan["requests"])
    ]
    timeout = plan.get("timeout", 30.0)
    latency: dict[str, list[float]] = {"all": [], "allocated": []}
    db_ms: list[float] = []
    lock_ms: list[float] = []
    answered: dict[str, int] = {}  # the order's status in the answer (new orders)
    errors: dict[str, int] = {}
    done = 0

    async def one(req: Request, kind: str, due: float) -> None:
        nonlocal done
        try:
            status, headers, body = await pool.request(req.raw(), timeout)
        except Exception as exc:  # timeout, reset: the client gave up
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return
        finally:
            done += 1
        took = time.perf_counter() - due
        latency["all"].append(took)
        timing = _server_timing(headers)
        if "db" in timing:
            db_ms.append(timing["db"])
            lock_ms.append(timing.get("lock", 0.0))
        if status not in (200, 201):
            key = f"http_{status}" if req.path != "push" else f"push_http_{status}"
            errors[key] = errors.get(key, 0) + 1
            return
        if kind == "new" and req.path != "push":
            state = json.loads(body).get("status", "?")
            answered[state] = answered.get(state, 0) + 1
            if state == "allocated":
                latency["allocated"].append(took)

    async def progress(start: float) -> None:
        while True:
            await asyncio.sleep(1.0)
            elapsed = time.perf_counter() - start
            recent = sorted(latency["all"][-500:])
            line = {"elapsed": round(elapsed, 1), "sent": sent, "done": done, "total": len(requests),
                    "errors": sum(errors.values()), "p95_ms": round(_percentile(recent, 0.95) * 1000, 1)}  # fmt: skip
            print(json.dumps({"progress": line}), flush=True)

    # the run starts at the plan's wall-clock second (shared with the paths run by `zhongshu loadtest`)
    start = time.perf_counter() + max(0.0, plan.get("start_at", time.time() + 0.2) - time.time())
    sent, tasks = 0, []
    ticker = asyncio.create_task(progress(start))
    for due_at, kind, req in requests:
        due = start + due_at
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(req, kind, due)))
        sent += 1
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    ticker.cancel()
    every, allocated = sorted(latency["all"]), sorted(latency["allocated"])
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    return {
        "requests": len(requests),
        "seconds": round(elapsed, 2),
        "answered": answered,
        "errors": errors,
        "latency_ms": {
            "p50": ms(_percentile(allocated, 0.5)),
            "p95": ms(_percentile(allocated, 0.95)),
            "p99": ms(_percentile(allocated, 0.99)),
        },  # fmt: skip
        "request_latency_ms": {
            "p50": ms(_percentile(every, 0.5)),
            "p95": ms(_percentile(every, 0.95)),
            "p99": ms(_percentile(every, 0.99)),
            "max": ms(every[-1] if every else 0),
        },  # fmt: skip
        "db_ms": _spread(db_ms),
        "lock_ms": _spread(lock_ms),
        "connections": pool.opened,
    }


def _spread(values: list[float]) -> dict:
    """p50/p99/max of per-request server timings (already milliseconds)."""
    v = sorted(values)
    return {"p50": round(_percentile(v, 0.5), 1), "p99": round(_percentile(v, 0.99), 1),
            "max": round(v[-1] if v else 0.0, 1), "requests": len(v)}  # fmt: skip


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    print(json.dumps({"result": asyncio.run(run(plan))}), flush=True)


if __name__ == "__main__":
    main()
