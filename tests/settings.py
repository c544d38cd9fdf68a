"""Settings for the test run: an isolated ZHONGSHU_HOME per test process (a ZHONGSHU_HOME set in the
environment is not used: two runs at once, or pytest-xdist workers, never share a file), the queue in
immediate mode unless a test starts real workers. The database is SQLite unless ZHONGSHU_DATABASE_URL
names another (.ci/run runs the data tests again on PostgreSQL)."""

import os
import tempfile

os.environ["ZHONGSHU_HOME"] = tempfile.mkdtemp(prefix="zhongshu-test-")
os.environ.setdefault("ZHONGSHU_QUEUE_IMMEDIATE", "1")
os.environ.setdefault("ZHONGSHU_WEBHOOK_ALLOW_PRIVATE", "1")  # subscribers are local HTTP servers

from zhongshu.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; never in production
