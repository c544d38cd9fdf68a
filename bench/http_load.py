"""HTTP intake under an offered rate: `zhongshu serve` (gunicorn, as `zhongshu demo` runs it) in one
process, the open-loop load client (bench/loadclient.py) in another. Used by bench/intake.py and
bench/run; run alone inside a benchmark child's home (setup_hub done)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import common

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`zhongshu serve` on a free port; `with Server(worker=True) as base:`."""

    def __init__(self, worker: bool = False, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.argv = [str(BIN / "zhongshu"), "serve", "--port", str(self.port), "--workers", str(workers),
                     "--threads", str(threads), "--no-access-log"] + ([] if worker else ["--no-worker"])  # fmt: skip

    def __enter__(self) -> str:
        home = os.environ.get("ZHONGSHU_HOME")  # the server's log beside the figures, when in a bench home
        err = open(Path(home, f"server-{self.port}.log"), "wb") if home else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=err)
        if home:
            err.close()
        base = f"http://127.0.0.1:{self.port}"
        common.wait_http(f"{base}/api/v1/health")
        return base

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def load(base: str, rate: float, seconds: float, **opts) -> dict:
    """Run the load client (its own process) and return its JSON figures."""
    argv = [sys.executable, str(HERE / "loadclient.py"), "--url", base, "--rate", str(rate),
            "--seconds", str(seconds)]  # fmt: skip
    for key, value in opts.items():
        argv += [f"--{key}", str(value)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    last = out.stdout.strip().splitlines()[-1]
    if os.environ.get("ZHONGSHU_HOME"):  # the whole account, Server-Timing included, beside the table
        name, n = f"loadclient-{opts.get('path', 'orders')}", 1
        while Path(os.environ["ZHONGSHU_HOME"], f"{name}{'' if n == 1 else f'-{n}'}.json").exists():
            n += 1
        Path(os.environ["ZHONGSHU_HOME"], f"{name}{'' if n == 1 else f'-{n}'}.json").write_text(last)
    return json.loads(last)


def http_intake(token: str, rate: float, seconds: float) -> dict:
    with Server() as base:
        r = load(base, rate, seconds, token=token, prefix="H")
    return {
        "http_offered_rate_per_s": rate,
        "http_seconds": seconds,
        "http_requests": r["requests"],
        "http_ok_per_s": r["ok_per_s"],
        "http_p50_ms": r["p50_ms"],
        "http_p99_ms": r["p99_ms"],
        "http_max_ms": r["max_ms"],
        "http_503": r["statuses"].get("503", 0),
        "http_errors": r["requests"] - r["ok"] - r["statuses"].get("503", 0),
        "http_over_2s": r["over_2s"],
        "http_503_server_wait_max_ms": r.get("server_wait_ms_of_503", {}).get("max"),
    }
