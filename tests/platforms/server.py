"""Moved to zhongshu.doubles.server (the load test ships the doubles); importable here for the tests."""

from zhongshu.doubles.server import *  # noqa: F403
