"""Loads every platform package so that each registers its connector (imported by ChannelsConfig.ready)."""

from zhongshu.channels import douyin, jd, kuaishou, meituan, own, pdd, taobao  # noqa: F401

__all__ = ["douyin", "jd", "kuaishou", "meituan", "own", "pdd", "taobao"]
