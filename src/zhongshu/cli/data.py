"""`import`, `export orders` and `demo`: orders in and out of files, the demo data."""

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhongshu.cli.admin import _migrate
from zhongshu.cli.base import (
    EXIT_OK,
    EXIT_PARTIAL,
    Host,
    Port,
    WebWorkers,
    _fail,
    _setup,
    app,
    err,
    export_app,
    out,
)

# --- import ------------------------------------------------------------------------------------

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
EXPORT_SUFFIXES = (".csv", ".xlsx", ".xlsm")


@app.command("import")
def import_orders(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON Lines (.jsonl: one order of src/zhongshu/orders/order.schema.json a line) or a "
            "platform's order export as downloaded from its seller centre (.csv/.xlsx: Taobao/Tmall, "
            "Pinduoduo, Douyin; detected by its header)."
        ),
    ],
    shop: Annotated[str, typer.Option("--shop", "-s", help="Shop code; a line's own 'shop' must match it.")],
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Orders per transaction.")] = 500,
) -> None:
    """Import orders from a file. Exit 0: all imported; 2: some lines/rows had errors; 1: not read."""
    _setup()
    from zhongshu.channels.files import UnreadableFile, import_export_file
    from zhongshu.channels.own.jsonl import UnknownShop, import_jsonl

    suffix = file.suffix.lower()
    if suffix not in JSONL_SUFFIXES + EXPORT_SUFFIXES:
        known = ", ".join(JSONL_SUFFIXES + EXPORT_SUFFIXES)
        raise _fail(f"cannot import {file.name}: unknown file type '{suffix}' (expected {known})")
    importer, unit = (import_jsonl, "line") if suffix in JSONL_SUFFIXES else (import_export_file, "row")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar = Progress(*columns, console=err)
    task = bar.add_task(f"importing {file.name}", total=None)

    def progress(done: int, total: int) -> None:
        bar.start()  # only once the file is open and the shop known; a no-op after the first call
        bar.update(task, completed=done, total=total)

    try:
        report = importer(file, shop, batch_size=batch_size, progress=progress)
    except UnknownShop as exc:
        raise _fail(str(exc)) from None
    except UnreadableFile as exc:
        raise _fail(f"cannot read {file}: {exc}") from None
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}") from None
    finally:
        if bar.live.is_started:
            bar.stop()
    out.print(_import_table(file, shop, report, unit))
    for e in report.errors:
        typer.echo(str(e) if unit == "line" else f"row {e.line}: {e.field}: {e.message}")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PARTIAL)


def _import_table(file: Path, shop: str, report, unit: str = "line") -> Table:
    source = f" ({report.source})" if report.source else ""
    table = Table(title=f"import {file.name}{source} → shop {shop}", show_header=False)
    rows = [(f"{unit}s", report.total), ("created", report.created), ("updated", report.updated),
            ("unchanged", report.unchanged), (f"{unit}s with errors", len(report.error_lines))]  # fmt: skip
    for label, value in rows:
        table.add_row(label, str(value))
    return table


# --- export ------------------------------------------------------------------------------------


@export_app.command("orders")
def export_orders(
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="The .xlsx file to write (replaced if it exists).")
    ],
    status: Annotated[
        str | None, typer.Option("--status", help="Only orders in this status, e.g. allocated.")
    ] = None,
    shop: Annotated[
        str | None, typer.Option("--shop", "-s", help="Only this shop's orders (shop code).")
    ] = None,
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", "-w", help="Only orders of this warehouse.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Placed on or after this day.")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Placed on or before this day.")
    ] = None,
    clear_receivers: Annotated[
        bool,
        typer.Option(
            "--clear-receivers",
            help="Receivers' name, phone and address in clear (else masked); recorded in the audit timeline.",
        ),
    ] = False,
) -> None:
    """Write orders to an Excel workbook, one row per order line (receiver masked, Beijing time)."""
    _setup()
    from zhongshu.orders.export import ExportFilter
    from zhongshu.orders.export import export_orders as write_orders
    from zhongshu.orders.receiver import audit_export
    from zhongshu.orders.states import OrderStatus

    if status and status not in OrderStatus.values:
        raise _fail(f"unknown status '{status}' (one of {', '.join(OrderStatus.values)})")
    if out_file.suffix.lower() != ".xlsx":
        raise _fail(f"{out_file.name}: the export is an Excel workbook, name it *.xlsx")
    chosen = ExportFilter(
        status, shop, warehouse, since.date() if since else None, until.date() if until else None
    )
    try:
        with err.status(f"writing {out_file.name}…"):
            result = write_orders(out_file, chosen, clear_receivers)
    except OSError as exc:
        raise _fail(f"cannot write {out_file}: {exc.strerror or exc}") from None
    if clear_receivers:
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "?"
        audit_export(f"cli:{user}", result.orders, "命令行 zhongshu export orders")
    out.print(f"export: {result.orders} orders, {result.rows} rows → {out_file}")


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
    # the demo's webhook subscribers are on this machine (a local receiver): allow private addresses
    os.environ.setdefault("ZHONGSHU_WEBHOOK_ALLOW_PRIVATE", "1")
    _setup(metrics="new" if serve_after else "")
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
        from zhongshu.cli.web import _serve

        _serve(host, port, workers, threads=4, worker_threads=2, access_log=True)
