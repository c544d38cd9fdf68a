from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from tests.factories import example_order, put_stock


def test_example_order_allocates_at_cd(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order())], actor="test")
    assert r.outcome == "created"
    o = Order.objects.get(pk=r.order.pk)
    assert (o.status, o.warehouse.code) == ("allocated", "CD")
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 2
