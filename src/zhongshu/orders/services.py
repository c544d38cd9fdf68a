"""Order use cases, one module each: intake (create or update orders from channels), stocktake and
backorders, the exception queue's decisions, the workbench's handling (hold, cancel, warehouse,
receiver, notes); batch holds the transaction machinery they share
(lock, route and reserve in memory, write once). Callers import from here."""

from zhongshu.orders.batch import transition_event
from zhongshu.orders.decisions import (
    APPROVED_MARK,
    CANCELLED_MARK,
    EDITED_MARK,
    REFUND_HOLD,
    DecisionRefused,
    Decisions,
    OrderEdit,
    approve_orders,
    cancel_orders,
    edit_and_approve,
)
from zhongshu.orders.handling import (
    CANCELLABLE,
    HOLDABLE,
    MANUAL_HOLD,
    RECEIVER_EDITABLE,
    ReceiverEdit,
    cancel_any_orders,
    change_warehouse,
    edit_receiver,
    hold_orders,
    note_orders,
)
from zhongshu.orders.intake import (
    CREATED,
    UNCHANGED,
    UPDATED,
    IntakeResult,
    ReferenceErrors,
    check_references,
    intake,
)
from zhongshu.orders.stocktake import StocktakeRefused, retry_backorders, stocktake

__all__ = [
    "APPROVED_MARK",
    "CANCELLABLE",
    "HOLDABLE",
    "MANUAL_HOLD",
    "RECEIVER_EDITABLE",
    "ReceiverEdit",
    "cancel_any_orders",
    "change_warehouse",
    "edit_receiver",
    "hold_orders",
    "note_orders",
    "CANCELLED_MARK",
    "CREATED",
    "EDITED_MARK",
    "REFUND_HOLD",
    "UNCHANGED",
    "UPDATED",
    "DecisionRefused",
    "Decisions",
    "IntakeResult",
    "OrderEdit",
    "ReferenceErrors",
    "StocktakeRefused",
    "approve_orders",
    "cancel_orders",
    "check_references",
    "edit_and_approve",
    "intake",
    "retry_backorders",
    "stocktake",
    "transition_event",
]
