"""Moved to zhongshu.doubles.taobao (the load test ships the doubles); importable here for the tests."""

from zhongshu.doubles.taobao import *  # noqa: F403
