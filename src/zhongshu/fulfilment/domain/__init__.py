"""The warehouse floor's decisions, pure: the package state machine (states), merge keys (合单,
merge), the split planner (拆单, with routing), wave selection and pick lists (波次, waves), the
weigh check (称重复核, weighing) and the scan check (验货, scans). Plain functions over plain
dataclasses; no ORM, no Django, so the services, the dry runs and the load generator share them and
the tests run in microseconds. `from zhongshu.fulfilment.domain import X` finds every name here."""

from zhongshu.fulfilment.domain.merge import (  # noqa: F401
    _ALL_PROVINCE_FORMS,
    _CITY_SUFFIXES,
    _DISTRICT_SUFFIXES,
    _PROVINCE_SUFFIXES,
    _SPACE_OR_PUNCT,
    MergeCandidate,
    Receiver,
    ReceiverKey,
    _forms,
    _strip_prefix,
    _strip_suffix,
    merge_groups,
    merge_key,
    normalize_phone,
    normalize_text,
    receiver_key,
)
from zhongshu.fulfilment.domain.scans import (  # noqa: F401
    COUNT_ENTRY_ABOVE,
    ScanError,
    ScanOutcome,
    ScanSession,
    check_scans,
    normalize_code,
    parse_scan,
)
from zhongshu.fulfilment.domain.states import (  # noqa: F401
    CANCELLABLE,
    CHECKABLE,
    FINISHED,
    IN_WAVE,
    MERGEABLE,
    ON_FLOOR,
    RESERVING,
    SPLITTABLE,
    START,
    STOPPABLE,
    TRANSITIONS,
    IllegalTransition,
    P,
    PackageStatus,
    check,
    order_status_for,
)
from zhongshu.fulfilment.domain.waves import (  # noqa: F401
    _DIGITS,
    PickRow,
    SeedSlot,
    WaveKind,
    WavePackage,
    WavePlan,
    WaveStrategyInfo,
    _hot_pool,
    _urgency,
    location_key,
    on_hand,
    package_kind,
    pick_list,
    plan_wave,
    seeding_plan,
    select_wave,
)
from zhongshu.fulfilment.domain.weighing import (  # noqa: F401
    Tolerance,
    WeighOutcome,
    _grams,
    expected_weight,
    weigh_check,
)
from zhongshu.routing.domain import PlannedPackage, plan_split  # noqa: F401  (the planner lives with routing)
