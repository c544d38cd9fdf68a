"""Overload (core/overload.py): a request that waited past the deadline is answered 503 with
Retry-After at once and does nothing — through Django (a proxy's X-Request-Start) and over a real
socket to `zhongshu serve`, whose gunicorn worker sheds by itself before Django."""

import os
import socket
import subprocess
import threading
import time

import httpx
import pytest
from django.contrib.auth import get_user_model

from tests.factories import example_order
from tests.integration.test_cli import _command, _free_port, _wait_for_health
from zhongshu.core.auth import create_token
from zhongshu.core.overload import parse_request_start
from zhongshu.orders.models import Order


@pytest.fixture
def token(hub):
    get_user_model().objects.create_superuser("ops", password="x")
    return create_token("ops")


def post(client, token, started: float | None):
    extra = {"HTTP_X_REQUEST_START": f"t={started:.3f}"} if started is not None else {}
    return client.post("/api/v1/orders", example_order(), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}", **extra)  # fmt: skip


def test_a_request_queued_past_the_deadline_gets_503_with_retry_after_and_writes_nothing(
    client, token, settings
):
    settings.QUEUE_DEADLINE_MS = 500
    r = post(client, token, time.time() - 2.0)
    assert r.status_code == 503
    assert r["Retry-After"] == "1"
    assert r.json()["waited_ms"] >= 2000 and "retry" in r.json()["detail"]
    assert not Order.objects.exists()


def test_a_request_within_the_deadline_is_served(client, token, settings):
    settings.QUEUE_DEADLINE_MS = 500
    assert post(client, token, time.time() - 0.1).status_code == 201
    assert post(client, token, None).status_code == 200  # no stamp: nothing to judge by


def test_deadline_zero_turns_the_check_off(client, token, settings):
    settings.QUEUE_DEADLINE_MS = 0
    settings.REQUEST_BUDGET_MS = 0  # the time budget is a limit of its own (test_request_budget.py)
    assert post(client, token, time.time() - 60).status_code == 201


@pytest.mark.parametrize(
    "header,expected",
    [("t=1700000000.25", 1700000000.25), ("1700000000250", 1700000000.25),
     ("t=1700000000250000", 1700000000.25), ("junk", None), ("", None)],
)  # fmt: skip
def test_request_start_in_seconds_milliseconds_or_microseconds(header, expected):
    assert parse_request_start(header) == expected


def test_gunicorn_sheds_the_requests_that_waited_with_a_fast_503(tmp_path):
    """One worker, one thread: a client that sends half a request holds the thread for a second;
    the requests queued meanwhile are answered 503 + Retry-After as soon as the thread is free
    (not served late), then the server answers normally again."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("ZHONGSHU_QUEUE_IMMEDIATE", "ZHONGSHU_DATABASE_URL")
    }
    env.update(ZHONGSHU_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="zhongshu.settings",
               ZHONGSHU_QUEUE_DEADLINE_MS="300")  # fmt: skip
    migrate = subprocess.run([*_command(), "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    port, log_path = _free_port(), tmp_path / "serve.out"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*_command(), "serve", "--port", str(port), "--workers", "1", "--threads", "1",
                                 "--no-worker"], env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_health(proc, f"{base}/api/v1/health", log_path)
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers not finished
        time.sleep(0.3)  # the only thread is now reading it
        answers: list[httpx.Response] = []
        with httpx.Client(base_url=base, timeout=10) as http:

            def call():  # each caller on its own connection
                answers.append(httpx.get(f"{base}/api/v1/health", timeout=10))

            callers = [threading.Thread(target=call) for _ in range(3)]
            for t in callers:
                t.start()
            time.sleep(1.0)
            slow.sendall(b"\r\n")  # the slow request completes; the thread moves on to the queue
            assert b"200 OK" in slow.recv(4096)
            t0 = time.monotonic()
            for t in callers:
                t.join(timeout=5)
            assert time.monotonic() - t0 < 1.0  # shed at once, not served one by one late
            assert [r.status_code for r in answers] == [503, 503, 503]
            assert all(r.headers["Retry-After"] == "1" for r in answers)
            assert all(r.json()["waited_ms"] >= 300 for r in answers)
            assert http.get("/api/v1/health").status_code == 200  # idle again: served
        slow.close()
        assert "Traceback" not in log_path.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
