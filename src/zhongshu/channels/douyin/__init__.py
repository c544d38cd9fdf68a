"""抖店 (Douyin shop) connector; importing the package registers it with zhongshu.channels.registry."""

from zhongshu.channels.douyin import connector  # noqa: F401  (registers DouyinConnector)
