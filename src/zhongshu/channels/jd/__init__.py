"""JD (京东 JOS) connector; importing the package registers it with zhongshu.channels.registry."""

from zhongshu.channels.jd import connector  # noqa: F401
