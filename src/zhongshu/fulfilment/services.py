"""The warehouse floor's use cases, one transaction each: packages from allocated orders (merged at
creation), interception when an order is cancelled or held, manual merge and split, waves and their
pick lists, picking on the PDA, the pack check (验货 + 称重) and the supervisor's override.

Every package status change goes through domain.check, writes a PackageTransition (the audit) and a
`package.status_changed` outbox event, and sets the processing-time stamp of its target. Orders
follow their packages through orders.follow (never the other way round). Stock stays with the
orders: an order's reservation is given back by the orders code when it is cancelled or held, so
the floor never touches StockLevel.reserved.

One module per use case (common, packages, waves, packing); callers import from here."""

from zhongshu.fulfilment.common import WEIGHT_STOP, CheckResult, FloorError, NotFound
from zhongshu.fulfilment.packages import (
    make_packages,
    merge_packages,
    split_package,
    sync_order,
    sync_orders,
    unmerge_order,
)
from zhongshu.fulfilment.packing import (
    cancel_package,
    check_package,
    check_scans,
    override_weight_stop,
    resume_package,
)
from zhongshu.fulfilment.recount import complete_recount
from zhongshu.fulfilment.waves import (
    claim_wave,
    create_wave,
    create_waves,
    finish_wave,
    record_pick,
    report_shortage,
    scheduled_waves,
)

__all__ = [
    "WEIGHT_STOP", "CheckResult", "FloorError", "NotFound", "cancel_package", "check_package", "check_scans",
    "claim_wave", "complete_recount", "create_wave", "create_waves", "finish_wave", "make_packages", "merge_packages",
    "override_weight_stop", "record_pick", "report_shortage", "resume_package", "scheduled_waves",
    "split_package", "sync_order", "sync_orders", "unmerge_order",
]  # fmt: skip
