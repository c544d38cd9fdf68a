"""Moved to zhongshu.doubles.waybill_book (the load test ships the doubles); importable here for the tests."""

from zhongshu.doubles.waybill_book import *  # noqa: F403
