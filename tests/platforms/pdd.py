"""Moved to zhongshu.doubles.pdd (the load test ships the doubles); importable here for the tests."""

from zhongshu.doubles.pdd import *  # noqa: F403
