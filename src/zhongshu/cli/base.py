"""What every command module shares: the Typer app and its groups, the consoles, exit codes, common
options, setting Django up and failing with a message."""

import os
from pathlib import Path
from typing import Annotated

import django
import typer
from django.conf import settings
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    help="中枢 zhongshu: the order hub for multi-channel e-commerce merchants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
token_app = typer.Typer(help="API tokens (Authorization: Bearer …).", no_args_is_help=True)
app.add_typer(token_app, name="token")
export_app = typer.Typer(help="Export data to files merchants open in Excel.", no_args_is_help=True)
app.add_typer(export_app, name="export")
shop_app = typer.Typer(help="Platform shops: connect one, authorise it.", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
alerts_app = typer.Typer(help="Red alerts: try a notification channel.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 2

Port = Annotated[int, typer.Option("--port", "-p", help="TCP port to listen on.")]
Host = Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")]
WebWorkers = Annotated[int, typer.Option("--workers", "-w", min=1, help="Web worker processes (gunicorn).")]


def _setup(metrics: str = "") -> None:
    """metrics "new" (a server starting: empty the metrics folder) or "join" (a worker): processes count
    into files under ZHONGSHU_HOME/metrics that /metrics adds up (set before prometheus_client loads)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhongshu.settings")
    if metrics:
        _metrics_folder(
            Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.HOME / "metrics"), metrics
        )
    django.setup()
    os.environ["ZHONGSHU_HOME"] = str(settings.INSTANCE_HOME)  # subprocesses (the worker) use the same folder


def _metrics_folder(path: Path, mode: str) -> None:
    if mode == "new" and path.is_dir():
        for stale in path.glob("*.db"):  # counters of an earlier run
            stale.unlink()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)  # inherited by the web workers and the worker


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(EXIT_FAILED)
