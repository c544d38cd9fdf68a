"""Taobao/Tmall connector (TOP open platform); importing the package registers it."""

from zhongshu.channels.taobao import connector  # noqa: F401  (registers TaobaoConnector)
