"""The `zhongshu` command: migrate, token, unlock, import, demo, serve, worker, sync, shop, alerts,
sandbox, loadtest.

One module per command group (admin, data, shops, web, alerts) on the app of zhongshu.cli.base.

Every command honours ZHONGSHU_HOME and ZHONGSHU_DATABASE_URL (read by zhongshu.settings) and sets
Django up when it runs, never at import; the project's modules are therefore imported inside the
commands, after `_setup()`.
"""

# each module registers its commands; in this order they appear in --help
from zhongshu.cli import admin, alerts, data, loadtest, sandbox, shops, web  # noqa: F401
from zhongshu.cli.base import app


def main() -> None:
    app(prog_name="zhongshu")
