"""快手小店 (Kuaishou shop) connector; importing the package registers it with zhongshu.channels.registry."""

from zhongshu.channels.kuaishou import connector  # noqa: F401  (registers KuaishouConnector)
