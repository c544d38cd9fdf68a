"""`--sandbox NAME` (any command, on a sandbox) and `sandbox create|list|drop`: copies to rehearse on."""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhongshu.cli.base import _fail, _setup, app, out

sandbox_app = typer.Typer(
    help="Sandboxes: copies of this instance to rehearse on (nothing in them reaches a platform).",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")


@app.callback()
def _options(
    sandbox: Annotated[
        str,
        typer.Option(
            "--sandbox",
            metavar="NAME",
            envvar="ZHONGSHU_SANDBOX",
            help="Run the command on sandbox NAME (its own database and home) instead of the instance.",
        ),
    ] = "",
) -> None:
    """中枢 zhongshu: the order hub for multi-channel e-commerce merchants."""
    if sandbox:
        use_sandbox(sandbox)


def use_sandbox(name: str) -> None:
    """Point the settings (read at _setup) and every subprocess at sandbox `name`; fail if there is none."""
    instance = Path(os.environ.get("ZHONGSHU_HOME", "zhongshu-data")).resolve()
    if not (instance / "sandboxes" / name / "sandbox.json").is_file():
        raise _fail(f"no sandbox named '{name}' under {instance} (zhongshu sandbox create {name})")
    os.environ["ZHONGSHU_SANDBOX"] = name


@sandbox_app.command("create")
def sandbox_create(
    name: Annotated[str, typer.Argument(help="Name of the new sandbox (a-z, 0-9, - and _).")],
    source: Annotated[
        str, typer.Option("--from", help="Copy this database (URL) instead of the instance's own.")
    ] = "",
    anonymise: Annotated[
        bool, typer.Option("--anonymise", help="Replace receivers' names, phones, addresses and buyer ids.")
    ] = False,
) -> None:
    """Copy the instance's data into a new sandbox; shops, carriers and notices there stay local."""
    _setup()
    from zhongshu.sandbox import SandboxError, create, home

    try:
        info = create(name, source, anonymise)
    except SandboxError as exc:
        raise _fail(str(exc)) from None
    out.print(
        f"沙箱 {name} 已创建 / sandbox created: {info['source']} → {info['database_url'].split('@')[-1]} "
        f"({info['copied_by']}, {info['copy_seconds']} s{', anonymised' if anonymise else ''})"
    )
    out.print(f"home {home(name)}")
    out.print(f"next: zhongshu --sandbox {name} serve   ·   zhongshu loadtest --sandbox {name} --rate 20")


@sandbox_app.command("list")
def sandbox_list() -> None:
    """The sandboxes of this instance."""
    _setup()
    from zhongshu.sandbox import list_sandboxes

    found = list_sandboxes()
    if not found:
        out.print("没有沙箱 / no sandboxes")
        return
    table = Table("name", "created", "database", "copied from", "anonymised")
    for s in found:
        table.add_row(
            s["name"], s["created_at"], s["database_url"].split("@")[-1], s["source"],
            "yes" if s["anonymised"] else "no",
        )  # fmt: skip
    out.print(table)


@sandbox_app.command("drop")
def sandbox_drop(name: Annotated[str, typer.Argument(help="The sandbox to delete.")]) -> None:
    """Delete a sandbox: its database and its home."""
    _setup()
    from zhongshu.sandbox import SandboxError, drop

    try:
        drop(name)
    except SandboxError as exc:
        raise _fail(str(exc)) from None
    out.print(f"沙箱 {name} 已删除 / sandbox dropped")
