"""The sync scheduler and the per-shop lock: only due shops are queued, two runs of one shop never
overlap, a lock dies with its holder, and `zhongshu sync` runs a pull or back-fill in the foreground."""

import re
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from huey.contrib.djhuey import HUEY
from typer.testing import CliRunner

from tests.factories import put_stock
from tests.integration.channels.fake_platform import FakeDouble, make_shop
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.tasks import (
    LOCK_NAMESPACE,
    SYNC_TASK_EXPIRES,
    run_sync,
    run_sync_scheduler,
    schedule_due,
    shop_lock,
    sync_shop_task,
)
from zhongshu.cli import app
from zhongshu.orders.models import Order

T0 = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def double():
    with FakeDouble() as d:
        yield d


@pytest.fixture
def queue():
    """The real embedded queue (SqliteHuey) instead of immediate mode: tasks wait to be inspected."""
    HUEY.immediate = False
    HUEY.flush()
    yield HUEY
    HUEY.flush()
    HUEY.immediate = True


def queued() -> list[tuple[str, tuple]]:
    return [(t.name.rsplit(".", 1)[-1], t.args) for t in HUEY.pending()]


def pulls(double: FakeDouble) -> int:
    return sum(1 for r in double.requests if r.path == "/orders")


def test_scheduler_enqueues_only_due_shops(hub, double, queue):
    make_shop(double, "fast", interval_seconds=10)
    make_shop(double, "slow", interval_seconds=30)
    make_shop(double, "off", enabled=False)
    make_shop(double, "gone")
    Shop.objects.filter(code="gone").update(active=False)
    make_shop(double, "reauth")
    ShopCredential.objects.filter(shop__code="reauth").update(needs_reauth=True)
    Shop.objects.create(code="nocred", name="未连接", platform="zstest")  # no credential yet
    steps = [(0, ["fast", "slow"]), (5, []), (9, []), (10, ["fast"]), (15, []), (20, ["fast"]), (29, []),
             (30, ["fast", "slow"])]  # fmt: skip

    seen = []
    for s, _ in steps:
        seen.append((s, schedule_due(T0 + timedelta(seconds=s))))
        for task in HUEY.pending():  # each queued sync taken up before the next tick (its run fails:
            HUEY.storage.pop_data(f"zhongshu:sync-queued:{task.args[0]}")  # the double is not asked)

    assert seen == steps
    assert queued() == [("sync_shop_task", (c,)) for c in ["fast", "slow", "fast", "fast", "fast", "slow"]]
    assert SyncState.objects.get(shop__code="slow").last_run_at == T0 + timedelta(seconds=30)
    assert SyncState.objects.get(shop__code="off").last_run_at is None
    assert pulls(double) == 0  # queued only: nothing ran


def test_a_second_scheduler_with_the_same_view_does_not_queue_again(hub, double, queue):
    make_shop(double, "fast", interval_seconds=10)
    assert schedule_due(T0) == ["fast"]
    assert schedule_due(T0) == []  # e.g. the scheduler of a second worker process, same instant
    assert queued() == [("sync_shop_task", ("fast",))]


@pytest.mark.django_db(transaction=True)  # the task closes its connection when it ends, as in a worker
def test_a_shop_is_not_queued_again_while_its_sync_waits_in_the_queue(hub, double, queue):
    make_shop(double, "fast", interval_seconds=1)
    t0 = datetime.now(UTC)  # the run below stamps the shop with the real clock
    assert schedule_due(t0) == ["fast"]
    # at a peak the sync waits behind other tasks: due again every second, queued only once
    assert [schedule_due(t0 + timedelta(seconds=s)) for s in (1, 5, 60)] == [[], [], []]
    assert queued() == [("sync_shop_task", ("fast",))]
    [task] = HUEY.pending()
    HUEY.execute(task)  # a worker takes it up and pulls
    assert pulls(double) > 0
    assert schedule_due(t0 + timedelta(seconds=61)) == ["fast"]
    # a sync the queue dropped unexecuted (older than SYNC_TASK_EXPIRES) does not hold the shop back
    later = t0 + timedelta(seconds=61 + SYNC_TASK_EXPIRES)
    assert schedule_due(later - timedelta(seconds=1)) == []
    assert schedule_due(later) == ["fast"]


@pytest.mark.django_db(transaction=True)
def test_scheduler_loop_pulls_due_shops_until_stopped(hub, double):
    put_stock("DUMPLING-500G", "CD", 1000)
    now = datetime.now(UTC)
    make_shop(double, "zs1", interval_seconds=1, cursor=now - timedelta(minutes=5))
    double.add("T-1", now - timedelta(seconds=20))
    stop = threading.Event()

    def loop() -> None:
        try:
            run_sync_scheduler(stop, tick=0.1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        _wait(lambda: Order.objects.filter(channel_order_id="T-1").exists())
        double.add("T-2", datetime.now(UTC))
        _wait(lambda: Order.objects.filter(channel_order_id="T-2").exists())
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert Order.objects.filter(shop__code="zs1").count() == 2
    assert SyncState.objects.get(shop__code="zs1").last_success_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_shop_never_overlap(hub, double, caplog):
    put_stock("DUMPLING-500G", "CD", 1000)
    now = datetime.now(UTC)
    make_shop(double, "zs1", cursor=now - timedelta(minutes=5))
    double.add("T-1", now - timedelta(seconds=10))
    double.delay_next(1, 1.5)  # the first run's pull hangs on the platform for 1.5 s

    def first() -> None:
        try:
            sync_shop_task("zs1")  # immediate mode: runs in this thread
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    _wait(lambda: pulls(double) == 1)  # the first run is inside its pull, holding the lock
    started = time.monotonic()
    sync_shop_task("zs1")  # the second run, in this thread
    second_took = time.monotonic() - started
    thread.join(timeout=10)

    assert second_took < 1.0  # it did not wait for the lock: it skipped
    assert pulls(double) == 1  # and it called the platform not at all
    assert "sync of shop zs1 skipped: another run is in progress" in caplog.text
    assert Order.objects.filter(channel_order_id="T-1").count() == 1
    assert run_sync("zs1") is not None  # the lock was released when the first run ended
    assert pulls(double) == 2


@pytest.mark.django_db(transaction=True)
def test_a_lock_held_by_a_killed_process_is_free_again(hub, settings):
    holder = subprocess.Popen(
        [sys.executable, "-c", _holder_script(settings)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with shop_lock("zs1") as held:
            assert held is False
        holder.kill()  # SIGKILL: no finally, no unlock; the OS / database drops the lock
        holder.wait(timeout=10)
        _wait(lambda: _try_lock("zs1"))
    finally:
        if holder.poll() is None:
            holder.kill()


def _try_lock(code: str) -> bool:
    with shop_lock(code) as held:
        return held


def _holder_script(settings) -> str:
    if connection.vendor == "postgresql":
        db = settings.DATABASES["default"]
        dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER']}"
        if db.get("PASSWORD"):
            dsn += f" password={db['PASSWORD']}"
        return textwrap.dedent(f"""
            import time, psycopg
            conn = psycopg.connect({dsn!r}, autocommit=True)
            conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [{LOCK_NAMESPACE}, "sync:zs1"])
            print("held", flush=True)
            time.sleep(60)
        """)
    path = settings.HOME / "locks" / "sync-zs1.lock"
    path.parent.mkdir(exist_ok=True)
    return textwrap.dedent(f"""
        import fcntl, time
        fh = open({str(path)!r}, "a+b")
        fcntl.flock(fh, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(60)
    """)


def test_cli_sync_pulls_and_prints_a_summary(hub, double):
    put_stock("DUMPLING-500G", "CD", 1000)
    now = datetime.now(UTC)
    make_shop(double, "zs1", cursor=now - timedelta(minutes=5))
    for n in range(3):
        double.add(f"T-{n}", now - timedelta(seconds=30 + n))

    result = runner.invoke(app, ["sync", "zs1"])

    assert result.exit_code == 0, result.output
    assert "sync shop zs1" in result.stdout
    assert re.search(r"created\W+3\b", result.stdout) and re.search(r"windows\W+1\b", result.stdout)
    assert Order.objects.filter(shop__code="zs1").count() == 3
    assert SyncState.objects.get(shop__code="zs1").cursor > now - timedelta(seconds=5)


def test_cli_backfill_repulls_a_range_and_keeps_the_cursor(hub, double):
    put_stock("DUMPLING-500G", "CD", 1000)
    now = datetime.now(UTC)
    make_shop(double, "zs1", cursor=now)
    double.add("OLD-1", now - timedelta(hours=3))
    double.add("OLD-2", now - timedelta(hours=2, minutes=30))
    start = (now - timedelta(hours=4)).isoformat()
    end = (now - timedelta(hours=2)).isoformat()

    result = runner.invoke(app, ["sync", "zs1", "--backfill-from", start, "--backfill-to", end])

    assert result.exit_code == 0, result.output
    assert "back-fill shop zs1" in result.stdout
    assert set(Order.objects.values_list("channel_order_id", flat=True)) == {"OLD-1", "OLD-2"}
    assert SyncState.objects.get(shop__code="zs1").cursor == now


def test_cli_sync_of_a_shop_whose_refresh_fails_says_to_reauthorise(hub, double):
    make_shop(double, "zs1")
    ShopCredential.objects.filter(shop__code="zs1").update(
        expires_at=datetime.now(UTC) + timedelta(minutes=5)
    )
    double.refuse_refresh = True

    result = runner.invoke(app, ["sync", "zs1"])

    assert result.exit_code == 1
    assert "needs re-authorisation" in result.stderr and "zhongshu shop authorize-url zs1" in result.stderr
    assert ShopCredential.objects.get(shop__code="zs1").needs_reauth is True
    assert schedule_due(datetime.now(UTC) + timedelta(hours=1)) == []  # the scheduler leaves it alone


def test_cli_sync_rejects_half_a_range_and_unknown_shops(hub):
    assert runner.invoke(app, ["sync", "nope"]).exit_code == 1
    Shop.objects.create(code="zs1", name="x", platform="zstest")
    result = runner.invoke(app, ["sync", "zs1", "--backfill-from", "2026-11-11T00:00"])
    assert result.exit_code == 1 and "go together" in result.stderr


def _wait(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
