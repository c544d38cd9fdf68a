from decimal import Decimal
from typing import Annotated

from ninja import Router, Schema, Status
from pydantic import Field, StringConstraints

from zhongshu.catalog.services import upsert_sku
from zhongshu.core.text import Line, Required, Text

router = Router(tags=["catalog"])


class SkuIn(Schema):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64), Line, Required]
    title: Annotated[str, StringConstraints(min_length=1, max_length=256), Text, Required]
    cost_price: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
    weight_g: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    presale: bool = False


class SkuOut(SkuIn):
    created: bool


@router.post("/skus", response={200: SkuOut, 201: SkuOut}, summary="Create or update a SKU")
def post_sku(request, body: SkuIn):
    sku, created = upsert_sku(body.sku, body.title, body.cost_price, body.weight_g, body.presale)
    out = SkuOut(sku=sku.code, title=sku.title, cost_price=sku.cost_price, weight_g=sku.weight_g,
                 presale=sku.presale, created=created)  # fmt: skip
    return Status(201 if created else 200, out)
