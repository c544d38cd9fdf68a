"""The order state machine, edge by edge: every (from, to) pair is checked against this list written out
by hand, so that adding or dropping an edge (shipped → cancelled, cancelled → paid) fails here."""

import pytest

from zhongshu.orders.states import REROUTABLE, RESERVING, IllegalTransition, OrderStatus, check

ALLOWED = {
    None: "pending_payment paid on_hold cancelled",
    "pending_payment": "paid on_hold cancelled",
    "paid": "on_hold allocated backordered cancelled",
    "on_hold": "paid on_hold allocated backordered cancelled",
    "allocated": "allocated backordered on_hold picking cancelled",
    "backordered": "allocated backordered on_hold cancelled",
    "picking": "packed on_hold cancelled",
    "packed": "shipped on_hold cancelled",
    "shipped": "delivered completed",
    "delivered": "completed",
    "completed": "",
    "cancelled": "",
}
STATUSES = [s.value for s in OrderStatus]


def test_the_statuses():
    assert set(ALLOWED) - {None} == set(STATUSES)


@pytest.mark.parametrize("current", list(ALLOWED))
@pytest.mark.parametrize("target", STATUSES)
def test_every_edge_allowed_or_refused(current, target):
    if target in ALLOWED[current].split():
        check(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check(current, target)


def test_the_fulfilment_chain_and_its_forbidden_shortcuts():
    for a, b in [("allocated", "picking"), ("picking", "packed"), ("packed", "shipped"),
                 ("shipped", "delivered"), ("delivered", "completed")]:  # fmt: skip
        check(a, b)
    for a, b in [("shipped", "cancelled"), ("delivered", "cancelled"), ("cancelled", "paid"),
                 ("completed", "cancelled"), ("picking", "shipped"), ("paid", "picking")]:  # fmt: skip
        with pytest.raises(IllegalTransition):
            check(a, b)


def test_refusals_say_what_was_refused():
    with pytest.raises(IllegalTransition, match="^shipped → cancelled is not allowed$"):
        check("shipped", "cancelled")
    with pytest.raises(IllegalTransition, match="^a new order cannot start as allocated$"):
        check(None, "allocated")


def test_reserving_and_reroutable():
    # stock stays reserved from allocation until the parcel leaves; re-routing only before picking
    assert RESERVING == {"allocated", "picking", "packed"}
    assert REROUTABLE == {"paid", "allocated", "backordered"}
