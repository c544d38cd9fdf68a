"""The order intake contract (src/zhongshu/orders/order.schema.json) as Pydantic models."""

import re
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from zhongshu.core.text import (  # no control characters (Text: but tab, line breaks)
    Line,
    Required,
    Text,
    scrubbed,
)

_MONEY = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")


def _money(value: object) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string in yuan with at most two places, e.g. "39.90"')
    return _amount(value)


@lru_cache(maxsize=4096)  # a batch repeats the same prices (a Decimal is immutable)
def _amount(value: str) -> Decimal:
    if not _MONEY.match(value):
        raise ValueError('must be a decimal string in yuan with at most two places, e.g. "39.90"')
    amount = Decimal(value).quantize(Decimal("0.01"))
    if amount < 0:  # refunds are their own records, not negative orders
        raise ValueError("must not be negative")
    return abs(amount)  # "-0.00" is 0.00


# As the OpenAPI shows it: a string (a JSON number is refused: 0.1 + 0.2 is no amount of money).
MONEY_JSON = {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "examples": ["39.90", "0.00"]}
Money = Annotated[Decimal, BeforeValidator(_money), WithJsonSchema(MONEY_JSON)]
Str = StringConstraints


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class BuyerIn(Contract):
    id: Annotated[str, Str(max_length=64), Line] | None = None
    nick: Annotated[str, Str(max_length=64), Line] | None = None
    id_number: Annotated[str, Str(pattern=r"^[0-9]{17}[0-9Xx]$")] | None = None
    vip: bool = False


class ReceiverIn(Contract):
    # Wider than the public contract (64/32/256): platform connectors carry the receiver as the
    # platform's ciphertext (Douyin ##…##, Taobao OAID, PDD), which is longer than the plain value.
    name: Annotated[str, Str(min_length=1, max_length=256), Line, Required]
    phone: Annotated[str, Str(min_length=5, max_length=256), Line, Required]
    province: Annotated[str, Str(max_length=32), Line] | None = None
    city: Annotated[str, Str(max_length=32), Line] | None = None
    district: Annotated[str, Str(max_length=32), Line] | None = None
    address: Annotated[str, Str(min_length=1, max_length=1024), Text, Required]


class LineIn(Contract):
    sku: Annotated[str, Str(min_length=1, max_length=64), Line, Required]
    title: Annotated[str, Str(max_length=256), Text] | None = None
    quantity: Annotated[int, Field(ge=1, le=100000, strict=True)]
    unit_price: Money
    promo_price: Money | None = None
    paid_amount: Money


ChannelStatus = Literal["pending_payment", "paid", "cancelled", "refund_requested", "refunded"]


class OrderIn(Contract):
    shop: Annotated[str, Str(min_length=1, max_length=64), Line, Required]
    channel_order_id: Annotated[str, Str(min_length=1, max_length=64), Line, Required]
    status: ChannelStatus
    created_at: AwareDatetime
    paid_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    buyer: BuyerIn | None = None
    receiver: ReceiverIn
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]
    freight: Money = Decimal("0.00")
    discount: Money = Decimal("0.00")
    paid_amount: Money
    presale: bool = False
    ship_by: AwareDatetime | None = None
    scheduled_delivery: AwareDatetime | None = None
    remark: Annotated[str, Str(max_length=512), Text] | None = None


def error_list(exc) -> list[dict]:
    """Pydantic errors as [{loc, msg}] with a dotted field path, e.g. lines[0].quantity."""
    return [{"loc": list(e["loc"]), "field": field_path(e["loc"]), "msg": e["msg"]} for e in exc.errors()]


def field_path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def platform_order(data: dict) -> OrderIn:
    """A platform's order (already mapped to the contract's fields) validated as the contract, after
    control characters in its text are replaced by spaces: platforms pass on what buyers typed, and
    the order must still come in. The merchant's own channel and imports stay strict (422, reported
    line)."""
    return OrderIn.model_validate(scrubbed(data))
