"""Which connector class speaks which platform. Platform packages register themselves here."""

from zhongshu.channels.base import Connector

_connectors: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    _connectors[cls.platform] = cls
    return cls


def connector_class(platform: str) -> type[Connector]:
    try:
        return _connectors[platform]
    except KeyError:
        raise LookupError(f"no connector for platform '{platform}'") from None


def platforms() -> list[str]:
    return sorted(_connectors)
