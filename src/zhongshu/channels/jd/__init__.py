"""jd connector (see connector.py); registers itself with zhongshu.channels.registry."""
