"""Moved to zhongshu.doubles.jd (the load test ships the doubles); importable here for the tests."""

from zhongshu.doubles.jd import *  # noqa: F403
