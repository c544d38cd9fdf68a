"""`migrate`, `token create` and `unlock`: the database, API tokens and locked-out sign-ins."""

from enum import StrEnum
from typing import Annotated

import typer
from django.conf import settings
from django.core.management import call_command

from zhongshu.cli.base import _fail, _setup, app, out, token_app

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
