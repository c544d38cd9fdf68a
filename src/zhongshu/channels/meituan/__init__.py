"""美团闪购/美团外卖 connector; importing the package registers it with zhongshu.channels.registry."""

from zhongshu.channels.meituan import connector  # noqa: F401  (registers MeituanConnector)
