"""Running the hub: gunicorn for the web (started in-process) and the background worker.

`serve` makes this process the gunicorn master and starts one `zhongshu worker` subprocess beside
it. The worker runs in its own session so a terminal's Ctrl-C reaches only the master, which then
stops the worker with SIGTERM: one shutdown path, no restart race. A worker that dies on its own
is restarted (unless it keeps dying right after start). The worker watches its parent and stops
when the master disappears, so a killed `serve` leaves no orphan behind.

Import this module only after django.setup() (the CLI does it): djhuey reads settings on import.
"""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial

from django.db import connections
from django.utils.module_loading import autodiscover_modules
from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app
from gunicorn.workers.gthread import ThreadWorker
from huey.contrib.djhuey import HUEY

from zhongshu.channels import inbox
from zhongshu.channels.inbox import run_inbox_loop
from zhongshu.channels.pdd.messages import PddMessageService
from zhongshu.channels.taobao.tmc import TmcService
from zhongshu.channels.tasks import run_sync_scheduler
from zhongshu.core import outbox
from zhongshu.core.overload import busy_bytes, queue_deadline_ms, stamp_wait
from zhongshu.core.tasks import run_relay_loop
from zhongshu.core.threads import start_daemon

log = logging.getLogger("zhongshu.server")

WSGI_APP = "zhongshu.wsgi:application"
PARENT_ENV = "ZHONGSHU_WORKER_PARENT_PID"


class WebServer(BaseApplication):
    """gunicorn configured from a dict instead of a command line."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return import_app(WSGI_APP)


class StampingThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that notes when each connection was queued for a thread and answers
    a request that waited past the deadline with a ready-made 503 + Retry-After itself, without
    entering Django (core/overload.py): shedding must cost next to nothing, or a peak is spent on it.
    """

    def enqueue_req(self, conn):
        conn.queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        queued = getattr(conn, "queued_at", None)
        conn.waited_ms = None if queued is None else (time.monotonic() - queued) * 1000
        stamp_wait(conn.waited_ms)  # for QueueDeadlineMiddleware, should the worker not shed
        try:
            return super().handle(conn)
        finally:
            stamp_wait(None)

    def handle_request(self, req, conn):
        waited = getattr(conn, "waited_ms", None)
        if waited is not None and 0 < queue_deadline_ms(req.path or "") < waited:
            conn.sock.sendall(busy_bytes(waited))
            return True  # kept alive: gunicorn drains the unread body
        return super().handle_request(req, conn)


def gunicorn_options(host: str, port: int, workers: int, threads: int, access_log: bool) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "zhongshu.server.StampingThreadWorker",
        # the app (Django set up, URLconf and translations warmed: zhongshu.wsgi) is loaded once in the
        # master and forked ready: a worker never serves its first requests cold
        "preload_app": True,
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "zhongshu",
        "control_socket_disable": True,  # gunicorn ≥25 would otherwise create ~/.gunicorn/gunicorn.ctl
        "child_exit": _child_exit,
    }


def _child_exit(server, worker) -> None:
    from zhongshu.core.metrics import process_exited

    process_exited(worker.pid)


class WorkerProcess:
    """The `zhongshu worker` subprocess kept alive beside the web server."""

    QUICK_EXIT = 10.0  # seconds: a worker dying sooner than this after start counts as a failed start
    MAX_QUICK_EXITS = 3

    def __init__(self, threads: int):
        self.argv = [sys.executable, "-m", "zhongshu.cli", "worker", "--workers", str(threads)]
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.quick_exits = 0
        self.stopping = threading.Event()
        self.owner = os.getpid()

    def start(self) -> None:
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        self.proc = subprocess.Popen(self.argv, env=env, start_new_session=True)
        self.started_at = time.monotonic()
        threading.Thread(target=self._watch, name="worker-watch", daemon=True).start()

    def _watch(self) -> None:
        while not self.stopping.wait(1.0):
            if self.proc is None or self.proc.poll() is None:
                continue
            if self.stopping.is_set():
                return
            quick = time.monotonic() - self.started_at < self.QUICK_EXIT
            self.quick_exits = self.quick_exits + 1 if quick else 0
            if self.quick_exits >= self.MAX_QUICK_EXITS:
                log.error(
                    "background worker keeps exiting at start; not restarting it (see its errors above)"
                )
                return
            log.warning("background worker (pid %s) exited; restarting it", self.proc.pid)
            self.start()
            return  # the new start() runs its own watcher

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the worker and wait; only the process that started it does anything."""
        if os.getpid() != self.owner or self.proc is None:
            return  # a forked gunicorn worker leaving: not ours to stop
        self.stopping.set()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def serve(
    host: str, port: int, workers: int, threads: int, worker_threads: int | None, access_log: bool = True
) -> None:
    """Run gunicorn in this process (and the worker beside it, unless worker_threads is None).

    Never returns: gunicorn leaves through sys.exit, in the master and in each forked web worker."""
    connections.close_all()  # nothing open may be shared with the forked web workers
    worker = WorkerProcess(worker_threads) if worker_threads else None
    if worker:
        worker.start()
    try:
        WebServer(gunicorn_options(host, port, workers, threads, access_log)).run()
    finally:
        if worker:
            worker.stop()


def run_worker(threads: int) -> None:
    """The huey consumer plus, in daemon threads, the outbox relay loop, the shops' sync scheduler, the
    push inbox's take-in loop, the
    Taobao TMC listeners and the PDD message-service listeners (each idle without an authorised shop
    of its platform); returns on SIGTERM/SIGINT."""
    autodiscover_modules("tasks")  # every app's tasks.py, as djhuey's run_huey does
    # SIGTERM (serve, systemd, docker) lets running tasks finish, up to 10 s; SIGINT stops at once.
    consumer = HUEY.create_consumer(
        workers=threads, worker_type="thread", periodic=True, graceful_signal="TERM", shutdown_timeout=10
    )
    stop = threading.Event()
    outbox.set_busy(inbox.waiting)  # at a peak of pushes the relay yields to their take-in
    loops = [
        start_daemon("outbox-relay", partial(run_relay_loop, stop)),
        start_daemon("sync-scheduler", partial(run_sync_scheduler, stop)),
        start_daemon("push-inbox", partial(run_inbox_loop, stop)),
        start_daemon("taobao-tmc", partial(TmcService.serve, stop)),
        start_daemon("pdd-messages", partial(PddMessageService.serve, stop)),
    ]
    _watch_parent(stop)
    try:
        consumer.run()
    finally:
        stop.set()
        for thread in loops:
            thread.join(timeout=10)


def _watch_parent(stop: threading.Event) -> None:
    """Under `serve`: SIGTERM ourselves when the server that started us is gone."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != int(parent):
                log.warning("server process %s is gone; stopping the worker", parent)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
