"""Each test process has its own ZHONGSHU_HOME and SQLite test database, even when ZHONGSHU_HOME is set
in the environment: two runs at once (or pytest-xdist workers) never share a file."""

import json
import os
import subprocess
import sys

SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([str(s.HOME), s.DATABASES['default']['TEST'].get('NAME')]))"
)


def settings_of_a_new_process(env: dict) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout))


def test_two_test_processes_never_share_a_home_or_database(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "ZHONGSHU_HOME": str(tmp_path)}
    env.pop("ZHONGSHU_DATABASE_URL", None)
    (home1, db1), (home2, db2) = settings_of_a_new_process(env), settings_of_a_new_process(env)
    assert home1 != home2 and db1 != db2
    assert db1.startswith(home1) and db2.startswith(home2)
    assert str(tmp_path) not in home1 + db1 + home2 + db2
