"""Test set-up: an isolated ZHONGSHU_HOME; the database is SQLite unless ZHONGSHU_DATABASE_URL says
otherwise (.ci/run runs the data tests again on PostgreSQL); the queue runs in huey's immediate mode
unless a test starts real workers."""

import os
import tempfile

os.environ.setdefault("ZHONGSHU_HOME", tempfile.mkdtemp(prefix="zhongshu-test-"))
os.environ.setdefault("ZHONGSHU_QUEUE_IMMEDIATE", "1")

import pytest  # noqa: E402

from tests.factories import *  # noqa: E402,F401,F403  (fixtures)


@pytest.fixture
def on_postgres(settings) -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]
