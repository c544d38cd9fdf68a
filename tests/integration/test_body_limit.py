"""Request bodies over the limit (settings.MAX_BODY_BYTES, ZHONGSHU_MAX_BODY_BYTES): a JSON 413 naming
the limit, through Django's test client and over a real socket to `zhongshu serve` (gunicorn)."""

import json
import os
import subprocess

import httpx
import pytest
from django.contrib.auth import get_user_model

from tests.factories import example_order
from tests.integration.test_cli import _command, _free_port, _wait_for_health
from zhongshu.core.auth import create_token
from zhongshu.orders.models import Order

LIMIT = 2_621_440  # the default: Django's DATA_UPLOAD_MAX_MEMORY_SIZE


def oversized(size: int = LIMIT + 1) -> bytes:
    order = example_order(remark="")
    body = json.dumps(order).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"  # valid JSON, padded with whitespace


@pytest.fixture
def token(hub):
    get_user_model().objects.create_superuser("ops", password="x")
    return create_token("ops")


def test_a_body_over_the_limit_gets_a_json_413_naming_it(client, token, settings):
    assert settings.MAX_BODY_BYTES == LIMIT
    r = client.post("/api/v1/orders", oversized(), content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 413
    assert r["Content-Type"] == "application/json"
    [error] = r.json()["detail"]
    assert error["field"] == "body" and str(LIMIT) in error["msg"] and str(LIMIT + 1) in error["msg"]
    assert r.json()["limit_bytes"] == LIMIT
    assert not Order.objects.exists()


def test_a_body_at_the_limit_is_read(client, token):
    r = client.post("/api/v1/orders", oversized(LIMIT), content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 201, r.content  # read and taken in (backordered: no stock)


def test_the_limit_is_a_setting(client, token, settings):
    settings.MAX_BODY_BYTES = 1000
    r = client.post("/api/v1/orders", oversized(1001), content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 413 and "1000 bytes" in r.json()["detail"][0]["msg"]


def test_over_a_real_socket_gunicorn_answers_413_and_keeps_the_connection(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("ZHONGSHU_QUEUE_IMMEDIATE", "ZHONGSHU_DATABASE_URL")
    }
    env.update(ZHONGSHU_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="zhongshu.settings",
               ZHONGSHU_MAX_BODY_BYTES="100000")  # fmt: skip
    migrate = subprocess.run([*_command(), "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    port, log_path = _free_port(), tmp_path / "serve.out"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*_command(), "serve", "--port", str(port), "--workers", "1", "--no-worker"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_health(proc, f"{base}/api/v1/health", log_path)
        with httpx.Client(base_url=base, timeout=10) as http:
            for size in (100_001, 8_000_000):  # the larger one would not fit the socket buffers
                r = http.post("/api/v1/orders", content=oversized(size),
                              headers={"Content-Type": "application/json", "Authorization": "Bearer zs_x"})  # fmt: skip
                assert r.status_code == 413, r.text
                assert f"{size} bytes, over the limit of 100000 bytes" in r.json()["detail"][0]["msg"]
                again = http.get("/api/v1/health")  # the same keep-alive connection still answers
                assert again.status_code == 200 and again.json() == {"status": "ok"}
        assert "Traceback" not in log_path.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
