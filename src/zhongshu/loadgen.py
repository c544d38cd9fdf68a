"""The load generator of `zhongshu loadtest`: an open-loop asyncio HTTP client in its own process.

  python -m zhongshu.loadgen PLAN.json        (PLAN written by `zhongshu loadtest`)

No Django here: it reads the plan (the server's URL, a token, and every request with the second it
is due), sends each request when it is due whatever the earlier ones take (open loop: a slow server
does not slow the offered load, as a closed-loop client would), and counts each latency from the
moment the request was due, so waiting for a free connection on this side counts too. Small HTTP/1.1
over kept-alive connections keeps the client's own cost low on a machine it shares with the server
(the approach of bench/loadclient.py).

stdout: one JSON line a second, {"progress": {...}}, then one {"result": {...}}.
"""

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


class Pool:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.idle: list = []
        self.opened = 0

    async def request(self, raw: bytes, timeout: float) -> tuple[int, bytes]:
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

    async def _send(self, conn, raw: bytes, timeout: float) -> tuple[int, bytes]:
        reader, writer = conn
        try:
            writer.write(raw)
            status, body, close = await asyncio.wait_for(_read(reader), timeout)
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append(conn)
        return status, body


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() == "close"


def _raw(host: str, token: str, body: dict) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    head = [
        "POST /api/v1/orders HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
        f"Content-Length: {len(data)}", f"Authorization: Bearer {token}",
    ]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


async def run(plan: dict) -> dict:
    url = urlsplit(plan["url"])
    pool = Pool(url.hostname, url.port or 80)
    requests = [(due, kind, _raw(url.netloc, plan["token"], body)) for due, kind, body in plan["requests"]]
    timeout = plan.get("timeout", 30.0)
    latency: dict[str, list[float]] = {"all": [], "allocated": []}
    answered: dict[str, int] = {}  # the order's status in the answer (new orders)
    errors: dict[str, int] = {}
    done = 0

    async def one(raw: bytes, kind: str, due: float) -> None:
        nonlocal done
        try:
            status, body = await pool.request(raw, timeout)
        except Exception as exc:  # timeout, reset: the client gave up
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return
        finally:
            done += 1
        took = time.perf_counter() - due
        latency["all"].append(took)
        if status not in (200, 201):
            errors[f"http_{status}"] = errors.get(f"http_{status}", 0) + 1
            return
        if kind == "new":
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

    start = time.perf_counter() + 0.2
    sent, tasks = 0, []
    ticker = asyncio.create_task(progress(start))
    for due_at, kind, raw in requests:
        due = start + due_at
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, kind, due)))
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
        "connections": pool.opened,
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    print(json.dumps({"result": asyncio.run(run(plan))}), flush=True)


if __name__ == "__main__":
    main()
