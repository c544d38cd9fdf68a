"""`sync` and `shop connect` / `shop authorize-url`: platform shops and their order sync."""

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from zhongshu.cli.base import EXIT_OK, EXIT_PARTIAL, _fail, _setup, app, err, out, shop_app

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
