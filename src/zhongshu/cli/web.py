"""`serve` and `worker`: the web server (gunicorn) and the background worker."""

import os
from typing import Annotated

import typer
from django.conf import settings

from zhongshu.cli.admin import _database_label, _unapplied_migrations
from zhongshu.cli.base import Host, Port, WebWorkers, _fail, _setup, app, err, out

# --- serve / worker ----------------------------------------------------------------------------


@app.command()
def serve(
    port: Port = 8000,
    host: Host = "127.0.0.1",
    workers: WebWorkers = 2,
    threads: Annotated[int, typer.Option(min=1, help="Threads per web worker.")] = 4,
    worker: Annotated[bool, typer.Option(help="Also run `zhongshu worker` alongside.")] = True,
    worker_threads: Annotated[int, typer.Option(min=1, help="Task threads of that worker.")] = 2,
    access_log: Annotated[bool, typer.Option(help="Log every request to stdout.")] = True,
) -> None:
    """Serve the web console and API with gunicorn (plus the background worker); Ctrl-C stops both."""
    _setup(metrics="new")
    _serve(host, port, workers, threads, worker_threads if worker else None, access_log)


def _serve(
    host: str, port: int, workers: int, threads: int, worker_threads: int | None, access_log: bool
) -> None:
    pending = _unapplied_migrations()
    if pending:
        raise _fail(f"the database lacks {pending} migration(s): run `zhongshu migrate` first")
    from zhongshu.server import serve as run_server

    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}/"
    if host not in ("0.0.0.0", "::", "") and host not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS.append(f"[{host}]" if ":" in host else host)  # the address asked for
    if not os.environ.get("ZHONGSHU_PUBLIC_URL"):
        settings.PUBLIC_URL = url.rstrip("/")  # links leaving the hub name the port it listens on
        if host in ("0.0.0.0", "::"):
            out.print(
                "other machines reach this hub once ZHONGSHU_PUBLIC_URL (or ZHONGSHU_ALLOWED_HOSTS) names it"
            )
    extra = " + background worker" if worker_threads else " (no background worker)"
    out.print(f"serving {url} (console {url}admin/, API docs {url}api/docs){extra}; Ctrl-C stops")
    run_server(host, port, workers, threads, worker_threads, access_log)


@app.command()
def worker(workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Task threads.")] = 2) -> None:
    """Run the background worker: the task queue consumer and the outbox relay; SIGTERM/SIGINT stop it."""
    _setup(metrics="join")
    if settings.HUEY.get("immediate"):
        raise _fail("the queue is in immediate mode (ZHONGSHU_QUEUE_IMMEDIATE=1): a worker has nothing to do")
    from zhongshu.server import run_worker

    queue = "redis" if settings.HUEY.get("url") else f"sqlite {settings.HUEY.get('filename')}"
    err.print(f"worker: {workers} task thread(s) + outbox relay; queue {queue}; database {_database_label()}")
    run_worker(workers)
