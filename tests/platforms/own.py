"""Moved to zhongshu.doubles.own (the load test ships the doubles); importable here for the tests."""

from zhongshu.doubles.own import *  # noqa: F403
