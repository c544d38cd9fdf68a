"""What the push receiver looks up for every message, kept per process for a few seconds.

At a peak a shop pushes hundreds of messages a second, each needing its shop, the shop's connector
(credentials decrypted) and the SKU codes it names: three queries per push that give the same
answers every time. So each web process keeps

- the active shop and its connector per shop code, for TTL seconds (a change saved in this process
  clears it at once, through the models' signals; another process sees it within TTL seconds). A
  message the cached connector refuses is verified once more with a connector read afresh (at most
  once a second per shop), so a secret rotated in another process is accepted at once; an old secret
  stays accepted in other processes for at most TTL seconds. A shop not found (or without
  credentials) is not kept: it is looked up on every message;
- the SKU codes known to exist, for TTL seconds; a code not among them is looked up (one query for
  all of a message's unknown codes), so a SKU created a moment ago is known at once. Intake checks
  every code again when it takes the message in.
"""

import threading
import time
from dataclasses import dataclass

from zhongshu.catalog.models import Sku
from zhongshu.channels.base import Connector
from zhongshu.channels.models import Shop, ShopCredential
from zhongshu.channels.services import connector_for

TTL = 5.0  # seconds a process trusts what it read
RETRY_AFTER = 1.0  # seconds between re-reads of one shop prompted by a refused message


@dataclass(frozen=True)
class Receiver:
    shop: Shop
    connector: Connector
    read_at: float

    @property
    def age(self) -> float:
        return time.monotonic() - self.read_at


_receivers: dict[str, Receiver] = {}
_skus: dict[str, float] = {}  # known SKU code → when it was read
_lock = threading.Lock()


def receiver(code: str, fresh: bool = False) -> Receiver | None:
    """The active shop `code` and its connector, or None (no such active shop). Raises
    ShopCredential.DoesNotExist (no credentials) and LookupError (no connector for its platform)."""
    found = None if fresh else _receivers.get(code)
    if found is not None and found.age < TTL:
        return found
    shop = Shop.objects.select_related("credential").filter(code=code, active=True).first()
    if shop is None:
        _receivers.pop(code, None)
        return None
    try:
        found = Receiver(shop, connector_for(shop), time.monotonic())
    except (ShopCredential.DoesNotExist, LookupError):
        _receivers.pop(code, None)
        raise
    _receivers[code] = found
    return found


def known_skus(codes: set[str]) -> set[str]:
    """Those of `codes` that are SKUs: read within TTL seconds, or looked up now."""
    now = time.monotonic()
    known = {c for c in codes if now - _skus.get(c, -TTL) < TTL}
    missing = codes - known
    if missing:
        found = set(Sku.objects.filter(code__in=missing).values_list("code", flat=True))
        with _lock:
            _skus.update(dict.fromkeys(found, now))
            if len(_skus) > 100_000:  # a catalogue this large: forget, rather than grow without end
                _skus.clear()
        known |= found
    return known


def clear(**_kwargs) -> None:
    """Forget everything (a shop, credential or SKU saved or deleted in this process)."""
    with _lock:
        _receivers.clear()
        _skus.clear()
