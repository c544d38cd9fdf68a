"""Scale-out mode: several web processes and two worker processes on PostgreSQL + Redis."""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.factories import example_order


def order(n: int) -> dict:
    line = {"sku": "DUMPLING-500G", "quantity": 1, "unit_price": "39.90", "paid_amount": "39.90"}
    return example_order(channel_order_id=f"SO-{n:04d}", lines=[line], discount="0.00", paid_amount="39.90")


def statuses(d) -> dict[str, int]:
    return dict(d.sql("SELECT status, count(*) FROM orders_order GROUP BY status"))


def pending_events(d) -> int:
    return d.sql("SELECT count(*) FROM core_outboxevent WHERE delivered_at IS NULL")[0][0]


def test_1_two_worker_processes_share_the_queue(deployment):
    d = deployment
    code = (
        "import json; from zhongshu.core.tasks import worker_ping; "
        "rs = [worker_ping(0.3) for _ in range(12)]; "
        "print(json.dumps(sorted({r.get(blocking=True, timeout=60)['pid'] for r in rs})))"
    )
    pids = set(json.loads(d.shell(code).strip().splitlines()[-1]))
    assert pids == {p.pid for p in d.workers}


def post_retrying(client: httpx.Client, body: dict) -> int:
    """POST as a client honouring overload: a 503 is sent again after its Retry-After."""
    for _ in range(30):
        r = client.post("/api/v1/orders", json=body)
        if r.status_code != 503:
            return r.status_code
        time.sleep(float(r.headers["Retry-After"]))
    return 503


def test_2_concurrent_http_intake_never_oversells(deployment):
    d = deployment
    with httpx.Client(base_url=d.base_url, headers=d.headers, timeout=60) as client:
        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(lambda n: post_retrying(client, order(n)), range(60)))
        assert codes == [201] * 60
        assert statuses(d) == {"allocated": 30, "backordered": 30}
        stock = client.get("/api/v1/stock/DUMPLING-500G").json()
        assert (stock["total"]["reserved"], stock["total"]["available"]) == (30, 0)


def test_3_workers_relay_the_outbox_and_run_consumers(deployment):
    d = deployment
    d.wait_for(lambda: pending_events(d) == 0, what="the outbox to drain")
    events = d.sql("SELECT count(*) FROM core_outboxevent")[0][0]
    assert d.sql("SELECT count(*) FROM core_timelineentry")[0][0] == events
    # adding stock is an event; a worker's consumer allocates backorders from it
    with httpx.Client(base_url=d.base_url, headers=d.headers, timeout=30) as client:
        r = client.put("/api/v1/stock/DUMPLING-500G/CD", json={"physical": 40, "in_transit": 0})
        assert r.status_code == 200
    d.wait_for(lambda: statuses(d).get("allocated") == 40, what="backorders allocated by a worker")
    assert statuses(d) == {"allocated": 40, "backordered": 20}


def test_4_relay_survives_a_killed_worker(deployment):
    d = deployment
    victim = d.workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    with httpx.Client(base_url=d.base_url, headers=d.headers, timeout=30) as client:
        assert client.put("/api/v1/stock/DUMPLING-500G/CD", json={"physical": 45}).status_code == 200
    d.wait_for(lambda: statuses(d).get("allocated") == 45, what="the surviving worker to relay")
    # events written by that consumer (the allocation) are relayed too, by the survivor
    d.wait_for(lambda: pending_events(d) == 0, what="the outbox to drain again")
