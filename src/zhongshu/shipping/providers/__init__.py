"""Waybill services by code. A platform provider module registers itself here; `provider_for` builds
the one an account names."""

from zhongshu.shipping.providers.base import Account, WaybillError, WaybillProvider
from zhongshu.shipping.providers.sandbox import SandboxProvider

REGISTRY: dict[str, type[WaybillProvider]] = {SandboxProvider.code: SandboxProvider}


def register(cls: type[WaybillProvider]) -> type[WaybillProvider]:
    REGISTRY[cls.code] = cls
    return cls


def provider_for(code: str, account: Account, connection=None) -> WaybillProvider:
    try:
        cls = REGISTRY[code]
    except KeyError:
        raise WaybillError("unknown_provider", f"面单服务 {code} 未接入") from None
    return cls(account, connection)


# the platform services register themselves on import (after REGISTRY and register exist)
from zhongshu.shipping.providers import cainiao, douyin, jd, kuaishou, pdd, sf  # noqa: E402, F401
