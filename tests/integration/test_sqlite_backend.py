"""zhongshu.core.sqlite: a process's write transactions queue on one lock, held from BEGIN to the
commit, the rollback or the close, whatever ends the transaction (SQLite only); and the Server-Timing
header that shows the wait."""

import fcntl
import threading
import time
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction

from zhongshu.core.sqlite.base import _writer_lock


@pytest.fixture
def writer(on_postgres):
    if on_postgres:
        pytest.skip("the SQLite backend's writer queue")
    return _writer_lock(connection.settings_dict["NAME"])


@contextmanager
def held_elsewhere(suffix: str, mode: int, for_seconds: float):
    """`<database><suffix>` locked with `mode` through a second open file (another process stands in
    for it), let go after `for_seconds` from a timer; the open file is yielded."""
    with open(f"{connection.settings_dict['NAME']}{suffix}", "a+b") as other:
        fcntl.flock(other.fileno(), mode)
        threading.Timer(for_seconds, fcntl.flock, (other.fileno(), fcntl.LOCK_UN)).start()
        yield other


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_held_inside_a_transaction_and_released_by_commit_and_rollback(writer):
    assert not writer.locked()
    with transaction.atomic():
        Group.objects.create(name="a")
        assert writer.locked()
        with transaction.atomic():  # a savepoint takes nothing more
            Group.objects.create(name="b")
    assert not writer.locked()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Group.objects.create(name="c")
        1 / 0  # noqa: B018
    assert not writer.locked()
    assert sorted(Group.objects.values_list("name", flat=True)) == ["a", "b"]


@pytest.mark.django_db(transaction=True)
def test_a_second_thread_writes_after_the_first_commits(writer):
    inside, order = threading.Event(), []

    def second() -> None:
        try:
            inside.wait(10)
            with transaction.atomic():
                order.append("second")
                Group.objects.create(name="second")
        finally:
            connections.close_all()

    t = threading.Thread(target=second)
    with transaction.atomic():
        Group.objects.create(name="first")
        t.start()
        inside.set()
        t.join(0.3)  # it waits on the queue, not on SQLite's busy handler
        assert t.is_alive() and order == []
        order.append("first")
    t.join(10)
    assert order == ["first", "second"]
    assert Group.objects.filter(name__in=["first", "second"]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_closing_the_connection_in_a_transaction_releases_the_lock(writer):
    with pytest.raises(RuntimeError), transaction.atomic():
        Group.objects.create(name="x")
        connection.close()  # e.g. a worker thread leaving
        raise RuntimeError
    assert not writer.locked()


@pytest.mark.django_db(transaction=True)
def test_a_writer_of_another_process_goes_first_through_the_lock_file(writer):
    """Another process's writer holds `<database>.writer` (flock; a second open file stands in for
    it): a transaction here waits until it lets go, then goes in at once."""
    name = connection.settings_dict["NAME"]
    with held_elsewhere(".writer", fcntl.LOCK_EX, 0.3):
        start = time.perf_counter()
        with transaction.atomic():
            waited = time.perf_counter() - start
            Group.objects.create(name="after")
    assert 0.25 <= waited < 5
    assert not writer.locked() and Group.objects.filter(name="after").exists()
    with open(f"{name}.writer", "a+b") as other:  # released at the commit
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.django_db
def test_api_answers_carry_server_timing(client):
    """ServerTimingMiddleware: the hub's own time, CPU, SQL and write-lock wait of an API answer
    (bench/fulfilment.py reads them); console pages go without."""
    r = client.get("/api/v1/health")
    parts = dict(p.strip().split(";dur=") for p in r["Server-Timing"].split(","))
    assert set(parts) == {"app", "cpu", "db", "lock"}
    assert float(parts["app"]) >= float(parts["db"]) >= float(parts["lock"]) >= 0
    assert "Server-Timing" not in client.get("/pda/")


@pytest.mark.django_db(transaction=True)
def test_a_write_outside_a_transaction_queues_too(writer):
    """An autocommit UPDATE takes its turn like a transaction (it would otherwise meet the others in
    SQLite's busy handler): it waits for another process's writer, and holds the queue only for the
    statement; a read does not queue."""
    Group.objects.create(name="plain")
    with held_elsewhere(".writer", fcntl.LOCK_EX, 0.3):
        start = time.perf_counter()
        assert Group.objects.filter(name="plain").exists()  # reads go on
        assert time.perf_counter() - start < 0.2
        Group.objects.filter(name="plain").update(name="renamed")
        waited = time.perf_counter() - start
    assert 0.25 <= waited < 5
    assert not writer.locked() and Group.objects.filter(name="renamed").exists()


@pytest.mark.django_db(transaction=True)
def test_slow_writers_are_logged_with_where_they_began(writer, monkeypatch, caplog):
    from zhongshu.core.sqlite import base

    monkeypatch.setattr(base, "SLOW_WRITER_MS", 50)
    with caplog.at_level("WARNING", logger="zhongshu.core.sqlite.base"):
        with transaction.atomic():
            Group.objects.create(name="slow")
            time.sleep(0.1)
        with transaction.atomic():
            Group.objects.create(name="fast")
    [line] = [r.getMessage() for r in caplog.records]
    assert "held the SQLite write lock" in line
    assert "test_slow_writers_are_logged_with_where_they_began" in line


@pytest.mark.django_db(transaction=True)
def test_background_writers_give_way_to_request_writers_waiting(writer, monkeypatch):
    """A request writer waiting for its turn holds `<database>.waiting` shared (a second open file
    stands in for one): a background write waits while it does, and at most GIVE_WAY; a write
    inside a request (a time budget) does not wait for the others waiting."""
    from zhongshu.core import overload
    from zhongshu.core.sqlite import base

    monkeypatch.setattr(base, "GIVE_WAY", 0.6)
    with held_elsewhere(".waiting", fcntl.LOCK_SH, 0.2) as request:
        start = time.perf_counter()
        with transaction.atomic():
            Group.objects.create(name="after the request")
        waited = time.perf_counter() - start
        assert 0.15 <= waited < 0.55  # until the request writer had its turn, not the whole GIVE_WAY

        fcntl.flock(request.fileno(), fcntl.LOCK_SH)  # one that never finishes waiting
        start = time.perf_counter()
        Group.objects.create(name="given way long enough")
        assert 0.55 <= time.perf_counter() - start < 2

        overload.set_deadline(time.monotonic() + 5)  # a request's own write
        try:
            start = time.perf_counter()
            with transaction.atomic():
                Group.objects.create(name="request")
            assert time.perf_counter() - start < 0.3
        finally:
            overload.set_deadline(None)
    assert (
        Group.objects.filter(name__in=["after the request", "given way long enough", "request"]).count() == 3
    )
