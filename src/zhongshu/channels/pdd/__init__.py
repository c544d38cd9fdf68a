"""Pinduoduo connector; importing the package registers it with zhongshu.channels.registry."""

from zhongshu.channels.pdd import connector  # noqa: F401
