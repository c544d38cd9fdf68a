"""`alerts test`: try a notification channel."""

from typing import Annotated

import typer
from rich.markup import escape

from zhongshu.cli.base import _fail, _setup, alerts_app, out

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
