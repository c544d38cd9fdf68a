"""The request time budget (core/overload.py): an API request whose budget runs out while another
transaction holds what it waits for — SQLite's write lock, or on PostgreSQL the stock row — is
answered 503 + Retry-After soon after its budget and writes nothing; a request with time left is
served as before; the worker (no request) keeps the normal timeouts. Through Django (a proxy's
X-Request-Start) and over a real socket to `zhongshu serve` (SQLite and PostgreSQL)."""

import os
import subprocess
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

from tests.factories import example_order, put_stock
from tests.integration.test_cli import _command, _free_port, _wait_for_health
from zhongshu.core.auth import create_token
from zhongshu.core.overload import remaining
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

pytestmark = pytest.mark.django_db(transaction=True)

BUDGET_MS = 400
HELD_S = 1.5  # how long the other transaction holds the lock/row: well past the budget


@pytest.fixture
def token(hub, client):
    put_stock("DUMPLING-500G", "CD", 100)
    get_user_model().objects.create_superuser("ops", password="x")
    assert client.get("/api/v1/health").status_code == 200  # URLconf and API loaded: no cold start
    return create_token("ops")


@contextmanager
def held_by_another_transaction(seconds: float = HELD_S):
    """Another thread opens a write transaction holding the stock rows of DUMPLING-500G (on SQLite
    that is the database's one write lock) for `seconds`, or until the block ends."""
    ready, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold():
        try:
            with transaction.atomic():
                rows = list(StockLevel.objects.select_for_update().filter(sku__code="DUMPLING-500G"))
                StockLevel.objects.filter(pk=rows[0].pk).update(in_transit=0)  # a write: SQLite's lock
                ready.set()
                done.wait(seconds)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            ready.set()
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert ready.wait(10) and not errors, errors
    try:
        yield
    finally:
        done.set()
        holder.join(10)
    assert not errors, errors


def post(client, token, path="/api/v1/orders", body=None):
    return client.post(path, body or example_order(), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_REQUEST_START=f"t={time.time():.6f}")  # fmt: skip


def test_a_request_out_of_budget_behind_a_held_lock_gets_a_fast_503_and_writes_nothing(
    client, token, settings
):
    settings.REQUEST_BUDGET_MS = BUDGET_MS
    with held_by_another_transaction():
        t0 = time.monotonic()
        r = post(client, token)
        took = time.monotonic() - t0
    assert r.status_code == 503, r.content
    assert r["Retry-After"] == "1"
    assert r.json()["retry_after_s"] == 1 and "nothing was written" in r.json()["detail"]
    assert BUDGET_MS / 1000 - 0.05 < took < BUDGET_MS / 1000 + 0.6  # waited its budget, no longer
    assert not Order.objects.exists()
    assert StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="CD").reserved == 0
    assert remaining() is None  # the budget ended with the request

    settings.REQUEST_BUDGET_MS = 10_000  # a loaded machine: time enough for the whole request
    again = post(client, token)  # the lock is free: the same order goes in
    assert again.status_code == 201, again.content
    assert Order.objects.get().status == "allocated"


def test_a_batch_out_of_budget_is_refused_whole_and_writes_nothing(client, token, settings):
    """One transaction for the whole batch: nothing was committed, so the whole call is 503."""
    settings.REQUEST_BUDGET_MS = BUDGET_MS
    orders = {"orders": [example_order(channel_order_id=f"B-{n}") for n in range(3)]}
    with held_by_another_transaction():
        r = post(client, token, "/api/v1/orders/batch", orders)
    assert r.status_code == 503 and r["Retry-After"] == "1", r.content
    assert not Order.objects.exists()
    settings.REQUEST_BUDGET_MS = 10_000
    r = post(client, token, "/api/v1/orders/batch", orders)
    assert r.status_code == 200 and r.json()["created"] == 3


def test_a_request_with_time_left_waits_for_the_lock_and_is_served(client, token, settings):
    settings.REQUEST_BUDGET_MS = 3000
    with held_by_another_transaction(0.3):
        r = post(client, token)
    assert r.status_code == 201, r.content
    assert Order.objects.count() == 1


def test_no_budget_without_a_queue_start_nor_with_budget_zero(client, token, settings):
    settings.REQUEST_BUDGET_MS = BUDGET_MS
    with held_by_another_transaction(0.8):
        r = client.post("/api/v1/orders", example_order(), content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 201  # no X-Request-Start, not under gunicorn: nothing to count from
    settings.REQUEST_BUDGET_MS = 0
    with held_by_another_transaction(0.8):
        r = post(client, token, body=example_order(channel_order_id="OFF-1"))
    assert r.status_code == 201


def test_the_worker_has_no_budget_and_waits_with_the_normal_timeout(token, settings):
    """Intake outside a request (the worker, a command) waits for the lock as long as it is held."""
    settings.REQUEST_BUDGET_MS = BUDGET_MS
    out: dict = {}

    def worker_intake():
        try:
            out["remaining"] = remaining()
            t0 = time.monotonic()
            [r] = intake([OrderIn.model_validate(example_order())], actor="worker")
            out["took"], out["status"] = time.monotonic() - t0, r.order.status
        finally:
            connections.close_all()

    with held_by_another_transaction(1.0):
        t = threading.Thread(target=worker_intake)
        t.start()
        t.join(20)
    assert out["remaining"] is None
    assert out["status"] == "allocated" and out["took"] > 0.6  # waited past the budget, then done


def test_zhongshu_serve_answers_503_when_the_budget_runs_out_behind_another_process(
    token, tmp_path, on_postgres
):
    """The real server: gunicorn's worker stamps the queue start, the budget caps the wait for the lock
    (SQLite: held by this test process, another process for the server's flock queue) or for the
    stock row (PostgreSQL: lock_timeout); the order then goes in once the lock is free."""
    db = connection.settings_dict
    if on_postgres:
        url = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if k != "ZHONGSHU_QUEUE_IMMEDIATE"}
    env.update(ZHONGSHU_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="zhongshu.settings",
               ZHONGSHU_DATABASE_URL=url, ZHONGSHU_REQUEST_BUDGET_MS=str(BUDGET_MS))  # fmt: skip
    port, log_path = _free_port(), tmp_path / "serve.out"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*_command(), "serve", "--port", str(port), "--workers", "1", "--threads", "2",
                                 "--no-worker"], env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_health(proc, f"{base}/api/v1/health", log_path)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=10, headers=headers) as http:
            with held_by_another_transaction(5.0):
                t0 = time.monotonic()
                r = http.post("/api/v1/orders", json=example_order())
                took = time.monotonic() - t0
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "1" and "nothing was written" in r.json()["detail"]
            assert took < BUDGET_MS / 1000 + 0.8  # not the 5 s the lock was held
            assert not Order.objects.exists()
            r = http.post("/api/v1/orders", json=example_order())
            assert r.status_code == 201, r.text
        assert Order.objects.count() == 1
        assert "Traceback" not in log_path.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_copy_waiting_on_the_same_order_is_stopped_by_the_budget(client, token, settings, on_postgres):
    """PostgreSQL's COPY of the new order (core/bulk.py) waits on the unique index while another
    transaction writes the same order (other stock rows: nothing else to wait for); the budget's
    timeouts stop it (intake's retry then finds no time left) and the answer is 503, nothing written."""
    if not on_postgres:
        pytest.skip("SQLite: another writer holds the write lock itself (the tests above)")
    from zhongshu.catalog.models import Sku

    Sku.objects.create(code="OTHER-1", title="other", cost_price="1.00")
    put_stock("OTHER-1", "CD", 10)
    other = example_order(lines=[{"sku": "OTHER-1", "quantity": 1, "unit_price": "64.80",
                                  "paid_amount": "64.80"}])  # fmt: skip
    ready, done, errors = threading.Event(), threading.Event(), []

    def hold():  # the same order (shop, channel order id), other stock rows, not committed yet
        try:
            with transaction.atomic():
                intake([OrderIn.model_validate(other)], actor="other")
                ready.set()
                done.wait(5)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            ready.set()
        finally:
            connections.close_all()

    settings.REQUEST_BUDGET_MS = BUDGET_MS
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert ready.wait(10) and not errors, errors
        r = post(client, token)
    finally:
        done.set()
        holder.join(10)
    assert r.status_code == 503 and r["Retry-After"] == "1", r.content
    assert Order.objects.get().lines.get().sku.code == "OTHER-1"  # the other transaction's, only


def test_a_statement_stopped_outside_the_execute_wrappers_is_answered_503(rf, settings):
    """A COPY stopped by the budget's statement_timeout reaches Django as OperationalError from
    psycopg's QueryCanceled, past the execute wrappers: the middleware answers it 503 too — in a
    request with a budget only."""
    psycopg = pytest.importorskip("psycopg")
    from django.db import OperationalError

    from zhongshu.core.overload import QueueDeadlineMiddleware, set_deadline

    try:
        raise OperationalError(
            "canceling statement due to statement timeout"
        ) from psycopg.errors.QueryCanceled()
    except OperationalError as exc:
        stopped = exc
    middleware = QueueDeadlineMiddleware(lambda request: None)
    request = rf.post("/api/v1/orders")
    assert middleware.process_exception(request, stopped) is None  # no budget: a server error as before
    set_deadline(time.monotonic() - 0.01)
    try:
        r = middleware.process_exception(request, stopped)
    finally:
        set_deadline(None)
    assert r.status_code == 503 and r["Retry-After"] == "1"
