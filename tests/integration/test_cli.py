"""The `zhongshu` command line: in-process with typer's CliRunner (test database), and `serve` for real."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import Permission
from typer.testing import CliRunner

from tests.factories import example_order, put_stock
from zhongshu.cli import app
from zhongshu.core.models import ApiToken
from zhongshu.orders.models import Order

runner = CliRunner()


def test_token_create_prints_one_token_that_authenticates_the_api(db, django_user_model, client):
    user = django_user_model.objects.create_user("ops", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_order"))

    result = runner.invoke(app, ["token", "create", "--user", "ops", "--name", "ci"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("zs_")
    token = lines[0]
    assert (ApiToken.objects.get().name, ApiToken.objects.get().scope) == ("ci", "full")
    assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/orders", headers={"Authorization": "Bearer zs_wrong"}).status_code == 401


def test_token_create_with_a_narrower_scope(hub, django_user_model, client):
    django_user_model.objects.create_superuser("root", password="x")

    result = runner.invoke(app, ["token", "create", "--user", "root", "--scope", "intake"])

    assert result.exit_code == 0, result.output
    auth = {"Authorization": f"Bearer {result.stdout.strip()}"}
    assert ApiToken.objects.get().scope == "intake"
    assert client.get("/api/v1/orders", headers=auth).status_code == 403
    r = client.post("/api/v1/orders", example_order(), content_type="application/json", headers=auth)
    assert r.status_code == 201, r.content
    bad = runner.invoke(app, ["token", "create", "--user", "root", "--scope", "admin"])
    assert bad.exit_code == 2 and ApiToken.objects.count() == 1


def test_token_create_for_unknown_user_fails_with_exit_1(db):
    result = runner.invoke(app, ["token", "create"])  # default user admin does not exist here

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no user named 'admin'" in result.stderr
    assert not ApiToken.objects.exists()


@pytest.fixture
def orders_file(hub, tmp_path):
    put_stock("DUMPLING-500G", "CD", 100)

    def write(*bad: tuple[int, dict]) -> Path:
        rows = [example_order(channel_order_id=f"MP{n}") for n in range(1, 6)]
        for line, changes in bad:
            rows[line - 1].update(changes)
        path = tmp_path / "orders.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
        return path

    return write


def test_import_all_good_exits_0_with_a_summary(orders_file):
    result = runner.invoke(app, ["import", str(orders_file()), "--shop", "mp"])

    assert result.exit_code == 0, result.output
    assert "created" in result.stdout and "│ 5 │" in result.stdout
    assert "line " not in result.stdout
    assert Order.objects.count() == 5


def test_import_with_bad_lines_exits_2_and_names_each_line(orders_file):
    path = orders_file((2, {"receiver": {"name": "王小明", "phone": "138"}}), (4, {"shop": "tb"}))

    result = runner.invoke(app, ["import", str(path), "--shop", "mp", "--batch-size", "2"])

    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("line ")]
    assert errors == [
        "line 2: receiver.phone: String should have at least 5 characters",
        "line 2: receiver.address: Field required",
        "line 4: shop: shop 'tb' does not match the import shop 'mp'",
    ]
    assert sorted(Order.objects.values_list("channel_order_id", flat=True)) == ["MP1", "MP3", "MP5"]


def test_import_unreadable_file_or_unknown_shop_exits_1(orders_file, tmp_path):
    missing = runner.invoke(app, ["import", str(tmp_path / "nope.jsonl"), "--shop", "mp"])
    unknown = runner.invoke(app, ["import", str(orders_file()), "--shop", "nope"])

    assert missing.exit_code == 1 and "cannot read" in missing.stderr
    assert unknown.exit_code == 1 and "unknown or inactive shop 'nope'" in unknown.stderr
    assert not Order.objects.exists()


# --- real processes ----------------------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).with_name("zhongshu")  # the installed entry point
    return [str(script)] if script.exists() else [sys.executable, "-m", "zhongshu.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """Live child processes of pid with their command lines (Linux /proc)."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out[int(stat.parent.name)] = cmd
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the worker process")
def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("ZHONGSHU_QUEUE_IMMEDIATE", "ZHONGSHU_DATABASE_URL")
    }
    env.update(ZHONGSHU_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="zhongshu.settings")
    migrate = subprocess.run([*_command(), "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    assert "migration(s) applied" in migrate.stdout
    port = _free_port()
    log_path = tmp_path / "serve.out"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*_command(), "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        body = _wait_for_health(proc, f"http://127.0.0.1:{port}/api/v1/health", log_path)
        assert body == {"status": "ok"}
        # the background worker, not gunicorn's web worker (titled "gunicorn: worker" when setproctitle,
        # a mutmut dependency, is installed)
        workers = {
            pid: cmd
            for pid, cmd in _children(proc.pid).items()
            if " worker " in f"{cmd} " and not cmd.startswith("gunicorn")
        }
        assert len(workers) == 1, _children(proc.pid)
        [worker_pid] = workers
        _wait_for_text(log_path, "worker: 2 task thread(s) + outbox relay")  # the worker came up

        proc.send_signal(signal.SIGINT)  # what Ctrl-C does to the server (the worker has its own session)
        assert proc.wait(timeout=20) == 0
        deadline = time.monotonic() + 5
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker_pid)
        assert "Traceback" not in log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_for_health(proc: subprocess.Popen, url: str, log: Path, timeout: float = 45) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(url, timeout=1)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"no healthy answer from {url} within {timeout} s:\n{log.read_text()}")


def _wait_for_text(log: Path, text: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} not in the output within {timeout} s:\n{log.read_text()}")
        time.sleep(0.1)
