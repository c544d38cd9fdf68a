from decimal import Decimal
from typing import Annotated

from ninja import Router, Schema, Status
from pydantic import Field, StringConstraints

from zhongshu.catalog.services import upsert_sku
from zhongshu.core.auth import requires
from zhongshu.core.params import Code, FreeText
from zhongshu.core.responses import errors, example
from zhongshu.core.text import Required

router = Router(tags=["catalog"])


class SkuIn(Schema):
    sku: Annotated[Code, StringConstraints(min_length=1, max_length=64), Required]
    title: Annotated[FreeText, StringConstraints(min_length=1, max_length=256), Required]
    cost_price: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
    weight_g: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    presale: bool = False


class SkuOut(SkuIn):
    created: bool


@router.post(
    "/skus",
    auth=requires("catalog.add_sku", "catalog.change_sku"),
    response={200: SkuOut, 201: SkuOut, **errors(400, 401, 403, 413, 422)},
    summary="Create or update a SKU",
    description="201 when the SKU is new, 200 when it was updated.",
    openapi_extra=example(
        {
            "sku": "ZONGZI-2",
            "title": "鲜肉粽子 2 只装",
            "cost_price": "12.50",
            "weight_g": 400,
            "presale": True,
        }
    ),
)
def post_sku(request, body: SkuIn):
    sku, created = upsert_sku(body.sku, body.title, body.cost_price, body.weight_g, body.presale)
    out = SkuOut(sku=sku.code, title=sku.title, cost_price=sku.cost_price, weight_g=sku.weight_g,
                 presale=sku.presale, created=created)  # fmt: skip
    return Status(201 if created else 200, out)
