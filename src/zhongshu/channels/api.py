"""Push receivers: `POST /api/v1/push/{shop}`. The platform's signature is the authentication.

The message is verified first (401 on a bad or stale signature, nothing read further), its orders
are checked against the contract and the catalogue (422 naming the field, nothing written), then
the message is stored in the push inbox (one insert; 409 on a replay) and acknowledged: the
acknowledgement means "stored". The shop, its credentials and the known SKU codes come from the
process's own short-lived copy (channels/pushcache.py): at a peak a push costs that one insert. The worker takes it in through intake moments later, in batches
(channels/inbox.py); messages that only name orders are fetched from the platform there.
"""

import json
import logging

from ninja import Router, Schema, Status
from pydantic import ValidationError

from zhongshu.channels import inbox, pushcache
from zhongshu.channels.base import ConnectorError, PushResult
from zhongshu.channels.models import Shop, ShopCredential
from zhongshu.channels.services import ReplayedPush
from zhongshu.core.params import Code
from zhongshu.core.responses import errors
from zhongshu.orders.intake import reference_errors
from zhongshu.orders.schemas import error_list

log = logging.getLogger(__name__)

router = Router(tags=["channels"])


class PushAck(Schema):
    accepted: int
    message_id: str
    data: str = "ok"  # the acknowledgement Meituan's push expects ({"data": "ok"})
    result: int = 1  # the acknowledgement Kuaishou's message push expects ({"result": 1})


class _Refused(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(status)
        self.status, self.body = status, body


@router.post(
    "/push/{shop}",
    auth=None,
    response={200: PushAck, **errors(401, 404, 409, 413, 422)},
    summary="Push messages from a shop or platform (signed; see docs/own-shop-webhook.md)",
    description="200 once the verified message is stored (`accepted`: the orders it carries or names); "
    "the orders are taken in moments later. 409: a message id stored before.",
)
def post_push(request, shop: Code):
    headers, body = dict(request.headers), request.body
    try:
        found, result = _verified(shop, headers, body)
        inbox.store(found, result)
    except _Refused as refused:
        return Status(refused.status, refused.body)
    except ReplayedPush:
        return Status(409, {"detail": "message already accepted (replay)"})
    accepted = len(result.orders) + len(result.order_ids)
    return Status(200, {"accepted": accepted, "message_id": result.message_id, "data": "ok", "result": 1})


def _verified(shop_code: str, headers: dict, body: bytes) -> tuple[Shop, PushResult]:
    """The shop and the verified message; the shop and its connector as this process last read them
    (channels/pushcache.py), read afresh once when they refuse the message."""
    try:
        found = pushcache.receiver(shop_code)
        if found is not None:
            try:
                result = found.connector.verify_push(headers, body)
            except ConnectorError:
                if found.age < pushcache.RETRY_AFTER:
                    raise
                found = pushcache.receiver(shop_code, fresh=True)  # its secret may have changed meanwhile
                if found is not None:
                    result = found.connector.verify_push(headers, body)
    except ValidationError as exc:
        raise _Refused(422, {"detail": [_named(e) for e in error_list(exc)]}) from None
    except (NotImplementedError, LookupError):
        raise _Refused(404, {"detail": f"shop '{shop_code}' does not receive pushes"}) from None
    except (ConnectorError, ShopCredential.DoesNotExist) as exc:
        log.info("push for shop %s refused: %s", shop_code, type(exc).__name__)
        raise _Refused(401, {"detail": "signature missing, invalid or outside the time window"}) from None
    if found is None:
        raise _Refused(404, {"detail": f"no active shop '{shop_code}'"})
    _check_references(found.shop, result, body)
    return found.shop, result


def _check_references(shop: Shop, result: PushResult, body: bytes) -> None:
    """Every order names this shop and known SKUs (the codes this process knows, the rest looked up)."""
    skus = pushcache.known_skus({line.sku for order in result.orders for line in order.lines})
    bad = reference_errors(result.orders, {shop.code}, skus)
    if not bad:
        return
    data = json.loads(body)  # valid JSON: verify_push parsed it
    batch = isinstance(data, dict) and "orders" in data
    detail = [
        {**e, "loc": ["orders", i, *e["loc"]], "field": f"orders[{i}].{e['field']}"} if batch else e
        for i, errs in sorted(bad.items())
        for e in errs
    ]
    raise _Refused(422, {"detail": detail})


def _named(e: dict) -> dict:
    return {**e, "field": e["field"] or "body"}
