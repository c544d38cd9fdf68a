"""PDD open-platform request signing (拼多多开放平台 签名).

sign = upper(md5(client_secret + k1v1 + k2v2 + … + client_secret)) over every request parameter
except `sign` itself, keys sorted ascending; the values are the exact strings sent on the wire.
"""

import hashlib
from collections.abc import Mapping

GATEWAY_PATH = "/api/router"
PRODUCTION_BASE = "https://gw-api.pinduoduo.com"
AUTHORIZE_URL = "https://fuwu.pinduoduo.com/service-market/auth"


def sign(params: Mapping[str, str], client_secret: str) -> str:
    body = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return hashlib.md5(f"{client_secret}{body}{client_secret}".encode()).hexdigest().upper()


def signed(params: Mapping[str, object], client_secret: str) -> dict[str, str]:
    """The parameters as wire strings (None dropped) plus their `sign`."""
    wire = {k: str(v) for k, v in params.items() if v is not None}
    wire["sign"] = sign(wire, client_secret)
    return wire
