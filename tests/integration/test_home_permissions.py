"""ZHONGSHU_HOME holds the database (receivers' names, phones, addresses), the queue and the secret
key: the folder is the owner's only (0700) and so is every file in it (0600), the SQLite -wal and
-shm files included, whatever umask the hub was started under."""

import os
import stat
import subprocess
import sys
from pathlib import Path

# after `zhongshu migrate`, while a connection is open (so SQLite's -wal and -shm exist): every path
# under ZHONGSHU_HOME with its mode
LIST_MODES = """
import os, django
from django.core.management import call_command
os.environ["DJANGO_SETTINGS_MODULE"] = "zhongshu.settings"
django.setup()
call_command("migrate", interactive=False, verbosity=0)
from django.db import connection
from huey.contrib.djhuey import HUEY
HUEY.enqueue  # the queue's database
with connection.cursor() as cur:
    cur.execute("INSERT INTO core_notification (audience, level, code, title, body, created_at) "
                "VALUES ('ops', 'info', 'x', 't', '', '2026-12-01')")
    home = os.environ["ZHONGSHU_HOME"]
    for folder, dirs, files in os.walk(home):
        for name in dirs + files:
            path = os.path.join(folder, name)
            print(os.path.relpath(path, home), oct(os.stat(path).st_mode & 0o777))
"""


def run_in(home: Path, code: str = LIST_MODES) -> dict[str, int]:
    """Run `code` under umask 022 (a usual default) with ZHONGSHU_HOME=home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU_")}
    env["ZHONGSHU_HOME"] = str(home)
    code = "import os; os.umask(0o022)\n" + code
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1], 8) for line in out.stdout.splitlines()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_home_and_everything_in_it_is_the_owners_only(tmp_path):
    home = tmp_path / "fresh" / "zhongshu-data"

    modes = run_in(home)

    assert mode(home) == 0o700
    assert {"zhongshu.sqlite3", "zhongshu.sqlite3-wal", "zhongshu.sqlite3-shm", "secret.key"} <= set(modes)
    assert "queue.sqlite3" in modes
    wrong = {name: oct(m) for name, m in modes.items() if m != (0o700 if (home / name).is_dir() else 0o600)}
    assert wrong == {}


def test_an_existing_home_left_open_by_an_older_version_is_closed(tmp_path):
    home = tmp_path / "zhongshu-data"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "zhongshu.sqlite3").touch(mode=0o644)
    (home / "zhongshu.sqlite3").chmod(0o644)
    (home / "secret.key").write_text("k" * 50)
    (home / "secret.key").chmod(0o644)

    run_in(home, "import zhongshu.settings")

    assert mode(home) == 0o700
    assert mode(home / "zhongshu.sqlite3") == 0o600 and mode(home / "secret.key") == 0o600
