"""The `zhongshu` command: migrate, token, unlock, import, demo, serve, worker, sync, shop, alerts.

Every command honours ZHONGSHU_HOME and ZHONGSHU_DATABASE_URL (read by zhongshu.settings) and sets
Django up when it runs, never at import; the project's modules are therefore imported inside the
commands, after `_setup()`.
"""

import os
from datetime import datetime
from enum import StrEnum
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
    os.environ["ZHONGSHU_HOME"] = str(settings.HOME)  # subprocesses (the worker) use the same folder


def _metrics_folder(path: Path, mode: str) -> None:
    if mode == "new" and path.is_dir():
        for stale in path.glob("*.db"):  # counters of an earlier run
            stale.unlink()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)  # inherited by the web workers and the worker


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
    vendor = "sqlite3" if db["ENGINE"] == settings.SQLITE_ENGINE else db["ENGINE"].rsplit(".", 1)[-1]
    host = f" on {db['HOST']}" if db.get("HOST") else ""
    return f"{vendor} {db['NAME']}{host}"  # never the URL: it may carry a password


def _unapplied_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


# --- token -------------------------------------------------------------------------------------


class TokenScope(StrEnum):
    """ApiToken.Scope, known before Django is set up."""

    FULL = "full"
    READ = "read"
    INTAKE = "intake"


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", "-u", help="Existing user the token acts as.")] = "admin",
    name: Annotated[str, typer.Option("--name", "-n", help="Label to recognise the token by.")] = "",
    scope: Annotated[
        TokenScope,
        typer.Option(
            "--scope",
            help="full: the user's permissions; read: only calls that read; intake: only POST /api/v1/orders.",
        ),
    ] = TokenScope.FULL,
) -> None:
    """Create an API token and print it (only the token, on stdout; it is not shown again)."""
    _setup()
    from django.contrib.auth import get_user_model

    from zhongshu.core.auth import create_token

    try:
        token = create_token(user, name, scope.value)
    except get_user_model().DoesNotExist:
        raise _fail(f"no user named '{user}' (create one in the admin, or run `zhongshu demo`)") from None
    typer.echo(token)


# --- unlock ------------------------------------------------------------------------------------


@app.command()
def unlock(
    user: Annotated[str | None, typer.Argument(help="User whose sign-in lock to lift.")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Only the lock from this address.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Lift every lock.")] = False,
) -> None:
    """Lift a sign-in lock (after too many wrong passwords) before its cool-off ends."""
    _setup()
    from zhongshu.core.login_guard import unlock as lift

    if not (user or address or all_):
        raise _fail("name a user (zhongshu unlock USER), an --address, or --all")
    n = lift("cli", username=user, address=address)
    out.print(f"unlock: {n} lock record(s) removed" if n else "unlock: nothing was locked")


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
        _serve(host, port, workers, threads=4, worker_threads=2, access_log=True)


# --- sync / shop -------------------------------------------------------------------------------

ShopCode = Annotated[str, typer.Argument(help="Shop code.")]


@app.command()
def sync(
    shop: ShopCode,
    backfill_from: Annotated[
        str | None,
        typer.Option("--backfill-from", help="Back-fill start, ISO 8601 (no offset: Beijing time)."),
    ] = None,
    backfill_to: Annotated[str | None, typer.Option("--backfill-to", help="Back-fill end, ISO 8601.")] = None,
) -> None:
    """Pull a shop's changed orders now (or re-pull a past range); exit 2 if some orders were rejected."""
    _setup()
    from zhongshu.channels.base import AuthError, ConnectorError
    from zhongshu.channels.models import Shop
    from zhongshu.channels.tasks import run_backfill, run_sync

    if not Shop.objects.filter(code=shop).exists():
        raise _fail(f"no shop '{shop}'")
    span = _backfill_span(backfill_from, backfill_to)
    try:
        with err.status(f"pulling shop {shop}…"):
            report = run_backfill(shop, *span) if span else run_sync(shop)
    except AuthError as exc:
        raise _fail(f"shop '{shop}' needs re-authorisation ({exc.code or 'auth'}): "
                    f"run `zhongshu shop authorize-url {shop} --redirect-uri URI`") from None  # fmt: skip
    except (ConnectorError, LookupError) as exc:
        raise _fail(
            f"sync of shop '{shop}' failed: {type(exc).__name__} {getattr(exc, 'code', '')}"
        ) from None
    if report is None:
        raise _fail(f"another {'back-fill' if span else 'sync'} of shop '{shop}' is running; try again later")
    out.print(_sync_table(shop, span, report))
    for channel_order_id in report.rejected:
        typer.echo(f"rejected (unknown SKU): {channel_order_id}")
    raise typer.Exit(EXIT_PARTIAL if report.rejected else EXIT_OK)


def _backfill_span(start: str | None, end: str | None):
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise _fail("--backfill-from and --backfill-to go together")
    span = _aware(start, "--backfill-from"), _aware(end, "--backfill-to")
    if not span[0] < span[1]:
        raise _fail("--backfill-from must be before --backfill-to")
    return span


def _aware(text: str, option: str):
    from datetime import datetime

    from django.utils import timezone

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option}: not an ISO 8601 time: {text}") from None
    return value if value.tzinfo else timezone.make_aware(value)  # TIME_ZONE: Asia/Shanghai


def _sync_table(shop: str, span, report) -> Table:
    from django.utils import timezone

    title = (
        f"back-fill shop {shop} {span[0].isoformat()} → {span[1].isoformat()}"
        if span
        else f"sync shop {shop}"
    )
    cursor = timezone.localtime(report.cursor).isoformat() if report.cursor else "-"
    table = Table(title=title, show_header=False)
    rows = [("windows", report.windows), ("received", report.received), ("created", report.created),
            ("updated", report.updated), ("unchanged", report.unchanged), ("rejected", len(report.rejected))]  # fmt: skip
    for label, value in rows + ([] if span else [("cursor", cursor)]):
        table.add_row(label, str(value))
    return table


@shop_app.command("connect")
def shop_connect(
    shop: ShopCode,
    platform: Annotated[
        str, typer.Option("--platform", help="taobao, jd, pdd, douyin, kuaishou, meituan, own.")
    ],
    app_key: Annotated[str, typer.Option("--app-key", help="The platform app's key (client id).")],
    app_secret: Annotated[
        str,
        typer.Option(
            "--app-secret",
            envvar="ZHONGSHU_APP_SECRET",
            prompt=True,
            hide_input=True,
            help="The app's secret (stored encrypted; prompted for when not given).",
        ),
    ],  # fmt: skip
    api_base_url: Annotated[str, typer.Option("--api-base-url", help="Gateway URL; empty: production.")] = "",
    name: Annotated[str, typer.Option("--name", help="Display name (default: the code).")] = "",
) -> None:
    """Create or update a shop and its platform credential (then authorise it: `shop authorize-url`)."""
    _setup()
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_slug

    from zhongshu.channels.models import Platform
    from zhongshu.channels.registry import platforms

    try:
        validate_slug(shop)
    except ValidationError:
        raise _fail(f"shop code '{shop}' may hold only letters, digits, '-' and '_'") from None
    if platform not in Platform.values and platform not in platforms():
        raise _fail(f"unknown platform '{platform}' (one of {', '.join(Platform.values)})")
    created = _connect_shop(shop, platform, app_key, app_secret, api_base_url, name)
    out.print(f"shop {shop} ({platform}) {'created' if created else 'updated'}; credential stored encrypted")
    out.print(
        f"next: zhongshu shop authorize-url {shop} --redirect-uri https://<this hub>/channels/oauth/callback/{shop}/"
    )


def _connect_shop(code: str, platform: str, app_key: str, secret: str, base_url: str, name: str) -> bool:
    from django.db import transaction

    from zhongshu.channels.models import Shop, ShopCredential, SyncState

    with transaction.atomic():
        shop, created = Shop.objects.get_or_create(
            code=code, defaults={"name": name or code, "platform": platform}
        )
        if not created and shop.platform != platform:
            raise _fail(f"shop '{code}' is on platform '{shop.platform}'; a shop cannot change platform")
        if name and shop.name != name:
            shop.name = name
            shop.save(update_fields=["name"])
        cred = ShopCredential.objects.select_for_update().filter(shop=shop).first() or ShopCredential(
            shop=shop
        )
        cred.app_key, cred.api_base_url, cred.app_secret = app_key, base_url, secret
        cred.save()
        SyncState.objects.get_or_create(shop=shop)
    return created


@shop_app.command("authorize-url")
def shop_authorize_url(
    shop: ShopCode,
    redirect_uri: Annotated[
        str | None,
        typer.Option(
            "--redirect-uri",
            help="This hub's callback (default: ZHONGSHU_PUBLIC_URL/channels/oauth/callback/SHOP/)",
        ),
    ] = None,
) -> None:
    """Print the platform's authorisation page for the shop; the seller opens it and agrees."""
    _setup()
    from zhongshu.channels.base import ConnectorError
    from zhongshu.channels.models import Shop
    from zhongshu.channels.views import authorize_url, callback_uri

    obj = Shop.objects.select_related("credential").filter(code=shop, credential__isnull=False).first()
    if obj is None:
        raise _fail(f"no connected shop '{shop}' (run `zhongshu shop connect {shop} …` first)")
    try:
        typer.echo(authorize_url(obj, redirect_uri or callback_uri(shop)))
    except (ConnectorError, LookupError) as exc:
        raise _fail(f"shop '{shop}' cannot be authorised: {exc}") from None


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


# --- alerts ------------------------------------------------------------------------------------


@alerts_app.command("test")
def alerts_test(
    channel: Annotated[str, typer.Argument(help="Name of a notification channel (通知渠道).")],
) -> None:
    """Send a test message through a configured channel and print the platform's answer."""
    _setup()
    from zhongshu.notify.models import Channel
    from zhongshu.notify.services import send_test

    try:
        ok, outcome = send_test(channel)
    except Channel.DoesNotExist:
        names = (
            ", ".join(Channel.objects.values_list("name", flat=True)) or "none yet (add one in the console)"
        )
        raise _fail(f"no channel named '{channel}'; channels: {names}") from None
    if not ok:
        raise _fail(f"{channel}: {outcome}")
    out.print(f"{escape(channel)}: {escape(outcome)}")


def main() -> None:
    app(prog_name="zhongshu")


if __name__ == "__main__":
    main()
