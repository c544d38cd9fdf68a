"""The `zhongshu` command: migrate, token, import, demo, serve, worker.

Every command honours ZHONGSHU_HOME and ZHONGSHU_DATABASE_URL (read by zhongshu.settings) and sets
Django up when it runs, never at import; the project's modules are therefore imported inside the
commands, after `_setup()`.
"""

import os
from pathlib import Path
from typing import Annotated

import django
import typer
from django.conf import settings
from django.core.management import call_command
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="中枢 zhongshu: the order hub for multi-channel e-commerce merchants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
token_app = typer.Typer(help="API tokens (Authorization: Bearer …).", no_args_is_help=True)
app.add_typer(token_app, name="token")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 2

Port = Annotated[int, typer.Option("--port", "-p", help="TCP port to listen on.")]
Host = Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")]
WebWorkers = Annotated[int, typer.Option("--workers", "-w", min=1, help="Web worker processes (gunicorn).")]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhongshu.settings")
    django.setup()
    os.environ["ZHONGSHU_HOME"] = str(settings.HOME)  # subprocesses (the worker) use the same folder


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(EXIT_FAILED)


# --- migrate -----------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Create or update the database tables (and the default roles)."""
    _setup()
    _migrate()


def _migrate() -> None:
    from zhongshu.core.roles import ensure_roles

    pending = _unapplied_migrations()
    call_command("migrate", interactive=False, verbosity=0)
    roles = ensure_roles()
    where = _database_label()
    done = f"{pending} migration(s) applied to {where}" if pending else f"{where} is up to date"
    out.print(f"migrate: {done}; roles {', '.join(roles)}")


def _database_label() -> str:
    db = settings.DATABASES["default"]
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    host = f" on {db['HOST']}" if db.get("HOST") else ""
    return f"{vendor} {db['NAME']}{host}"  # never the URL: it may carry a password


def _unapplied_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


# --- token -------------------------------------------------------------------------------------


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", "-u", help="Existing user the token acts as.")] = "admin",
    name: Annotated[str, typer.Option("--name", "-n", help="Label to recognise the token by.")] = "",
) -> None:
    """Create an API token and print it (only the token, on stdout; it is not shown again)."""
    _setup()
    from django.contrib.auth import get_user_model

    from zhongshu.core.auth import create_token

    try:
        token = create_token(user, name)
    except get_user_model().DoesNotExist:
        raise _fail(f"no user named '{user}' (create one in the admin, or run `zhongshu demo`)") from None
    typer.echo(token)


# --- import ------------------------------------------------------------------------------------


@app.command("import")
def import_orders(
    file: Annotated[
        Path, typer.Argument(help="JSON Lines: one order of shared/contracts/order.schema.json a line.")
    ],
    shop: Annotated[str, typer.Option("--shop", "-s", help="Shop code; a line's own 'shop' must match it.")],
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Orders per transaction.")] = 500,
) -> None:
    """Import orders from a JSON Lines file. Exit 0: all imported; 2: some lines had errors; 1: not read."""
    _setup()
    from zhongshu.channels.own.jsonl import UnknownShop, import_jsonl

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar = Progress(*columns, console=err)
    task = bar.add_task(f"importing {file.name}", total=None)

    def progress(done: int, total: int) -> None:
        bar.start()  # only once the file is open and the shop known; a no-op after the first call
        bar.update(task, completed=done, total=total)

    try:
        report = import_jsonl(file, shop, batch_size=batch_size, progress=progress)
    except UnknownShop as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}") from None
    finally:
        if bar.live.is_started:
            bar.stop()
    out.print(_import_table(file, shop, report))
    for e in report.errors:
        typer.echo(str(e))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PARTIAL)


def _import_table(file: Path, shop: str, report) -> Table:
    table = Table(title=f"import {file.name} → shop {shop}", show_header=False)
    rows = [("lines", report.total), ("created", report.created), ("updated", report.updated),
            ("unchanged", report.unchanged), ("lines with errors", len(report.error_lines))]  # fmt: skip
    for label, value in rows:
        table.add_row(label, str(value))
    return table


# --- demo --------------------------------------------------------------------------------------


@app.command()
def demo(
    port: Port = 8000,
    host: Host = "127.0.0.1",
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Then serve web + worker.")] = True,
    reset_password: Annotated[bool, typer.Option(help="Give an existing admin a new password.")] = False,
    workers: WebWorkers = 2,
) -> None:
    """Everything on a fresh machine: migrate, admin user, demo data (only into an empty hub), serve."""
    _setup()
    from zhongshu import demo as demo_data
    from zhongshu.core.auth import create_token

    _migrate()
    password = demo_data.ensure_admin("admin", reset_password)
    with err.status("loading demo data (shops, SKUs, stock, orders)…"):
        loaded = demo_data.load_demo()
    if loaded is None:
        out.print("demo data: the hub already has orders; nothing loaded")
    else:
        counts = ", ".join(f"{status} {n}" for status, n in loaded.most_common())
        out.print(f"demo data: {loaded.total()} orders ({counts})")
    if password:
        out.print(f"admin login: admin / {password}   (shown once; change it in the admin)")
    else:
        out.print("admin login: admin (existing user, password unchanged; --reset-password sets a new one)")
    out.print(f"API token:   {create_token('admin', 'demo')}")
    if serve_after:
        _serve(host, port, workers, threads=4, worker_threads=2, access_log=True)


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
    _setup()
    _serve(host, port, workers, threads, worker_threads if worker else None, access_log)


def _serve(
    host: str, port: int, workers: int, threads: int, worker_threads: int | None, access_log: bool
) -> None:
    pending = _unapplied_migrations()
    if pending:
        raise _fail(f"the database lacks {pending} migration(s): run `zhongshu migrate` first")
    from zhongshu.server import serve as run_server

    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}/"
    extra = " + background worker" if worker_threads else " (no background worker)"
    out.print(f"serving {url} (console {url}admin/, API docs {url}api/docs){extra}; Ctrl-C stops")
    run_server(host, port, workers, threads, worker_threads, access_log)


@app.command()
def worker(workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Task threads.")] = 2) -> None:
    """Run the background worker: the task queue consumer and the outbox relay; SIGTERM/SIGINT stop it."""
    _setup()
    if settings.HUEY.get("immediate"):
        raise _fail("the queue is in immediate mode (ZHONGSHU_QUEUE_IMMEDIATE=1): a worker has nothing to do")
    from zhongshu.server import run_worker

    queue = "redis" if settings.HUEY.get("url") else f"sqlite {settings.HUEY.get('filename')}"
    err.print(f"worker: {workers} task thread(s) + outbox relay; queue {queue}; database {_database_label()}")
    run_worker(workers)


def main() -> None:
    app(prog_name="zhongshu")


if __name__ == "__main__":
    main()
