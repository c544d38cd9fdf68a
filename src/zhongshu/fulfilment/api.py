"""The warehouse floor's API: packages, waves, the pack check, merge and split (issue 9 item 7).

Each operation names the Django permission it needs (fulfilment models), checked with the token's
scope before the body is read (core.auth.requires); errors are declared as core.responses says."""

from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from zhongshu.core.auth import requires
from zhongshu.core.params import Code, FreeText, Id
from zhongshu.core.responses import errors, example
from zhongshu.fulfilment import selectors, services
from zhongshu.fulfilment.models import Package, Wave

router = Router(tags=["fulfilment"])

VIEW, CHANGE, SUPERVISE = (
    "fulfilment.view_package",
    "fulfilment.change_package",
    "fulfilment.supervise_package",
)
ADD_WAVE, VIEW_WAVE, PICK = "fulfilment.add_wave", "fulfilment.view_wave", "fulfilment.change_wave"


class OrderRef(Schema):
    shop: str
    channel_order_id: str


class PackageLineIn(Schema):
    sku: Code
    quantity: int = Field(ge=1, le=100_000)


class PackageLineOut(Schema):
    sku: str
    quantity: int


class PackageOut(Schema):
    id: str
    status: str
    warehouse: str
    carrier: str | None
    orders: list[OrderRef]
    lines: list[PackageLineOut]
    expected_weight_g: int
    measured_weight_g: int | None
    flags: list[str]
    stop_code: str | None
    stop_reason: str | None
    wave: str | None
    waybill_no: str | None


class PackageFilter(Schema):
    status: Package.Status | None = None
    warehouse: Code | None = None


class Refusal(Schema):
    code: str
    detail: str


class WaveIn(Schema):
    warehouse: Code
    strategy: Code | None = None
    max_packages: int | None = Field(default=None, ge=1, le=10_000)


class PickRowOut(Schema):
    location: str | None
    sku: str
    quantity: int


class WaveOut(Schema):
    id: str
    packages: list[str]
    pick_list: list[PickRowOut]


class CheckIn(Schema):
    scans: list[Code] = Field(max_length=10_000)
    weight_g: int = Field(ge=0, le=1_000_000)  # grams: up to a tonne
    # the box the packer chose (an active packaging type's name or id): the expected weight is
    # recomputed with its weight before the weigh check; unknown → 409 unknown_packaging
    packaging: FreeText | None = Field(default=None, max_length=64)


class CheckOut(Schema):
    status: str


class MergeIn(Schema):
    with_: list[Id] = Field(alias="with", min_length=1, max_length=200)


class SplitIn(Schema):
    lines: list[list[PackageLineIn]] = Field(min_length=2)


class SplitOut(Schema):
    packages: list[PackageOut]


def refusal(exc: services.FloorError) -> tuple[int, dict]:
    """The answer to a refused floor action, whichever endpoint: 404 `{detail}` for a package, wave
    or strategy that does not exist, else 409 `{code, detail}` (nothing was written). zhongshu.api
    registers it as the API's handler of FloorError, so the endpoints just call the services."""
    if isinstance(exc, services.NotFound):
        return 404, {"detail": exc.detail}
    return 409, {"code": exc.code, "detail": exc.detail}


def _one(package_id: Id) -> dict:
    pkg = selectors.packages().filter(pk=package_id).first()
    if pkg is None:
        raise HttpError(404, f"no package '{package_id}'")
    return selectors.package_out(pkg)


def _actor(request) -> str:
    return f"api:{request.user.get_username()}"


@router.get(
    "/packages",
    response={200: list[PackageOut], **errors(401, 403, 404, 422)},
    summary="Packages, newest first, filtered and paged",
    auth=requires(VIEW),
)
@paginate(PageNumberPagination, page_size=50)
def list_packages(request, filters: Query[PackageFilter]):
    return [selectors.package_out(p) for p in selectors.packages(filters.status, filters.warehouse)]


@router.get(
    "/packages/{package_id}",
    response={200: PackageOut, **errors(401, 403, 404, 422)},
    summary="One package with orders and lines",
    auth=requires(VIEW),
)
def get_package(request, package_id: Id):
    return _one(package_id)


@router.post(
    "/waves",
    response={201: WaveOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Make a wave of pending packages",
    auth=requires(ADD_WAVE),
    openapi_extra=example({"warehouse": "CD", "strategy": "multi", "max_packages": 50}),
)
def post_wave(request, payload: WaveIn):
    wave = services.create_wave(payload.warehouse, payload.strategy, payload.max_packages, _actor(request))
    return Status(
        201,
        {
            "id": str(wave.pk),
            "packages": [
                str(pk) for pk in wave.packages.order_by("seed_slot", "pk").values_list("pk", flat=True)
            ],
            "pick_list": [
                {"location": r.location or None, "sku": r.sku.code, "quantity": r.quantity}
                for r in wave.pick_rows.select_related("sku").order_by("position")
            ],
        },
    )


@router.post(
    "/packages/{package_id}/check",
    response={200: CheckOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Pack check: scans then weight (验货 + 称重)",
    auth=requires(CHANGE),
    openapi_extra=example({"scans": ["DUMPLING-500G", "DUMPLING-500G"], "weight_g": 1080}),
)
def post_check(request, package_id: Id, payload: CheckIn):
    result = services.check_package(
        package_id, payload.scans, payload.weight_g, _actor(request), payload.packaging
    )
    if not result.ok:
        return Status(409, {"code": result.code, "detail": result.detail})
    return {"status": result.status}


@router.post(
    "/packages/{package_id}/merge",
    response={200: PackageOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Merge packages (合单)",
    auth=requires(CHANGE),
    openapi_extra=example({"with": [2, 3]}),
)
def post_merge(request, package_id: Id, payload: MergeIn):
    pkg = services.merge_packages(package_id, payload.with_, _actor(request))
    return _one(pkg.pk)


@router.post(
    "/packages/{package_id}/split",
    response={200: SplitOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Split a package (拆单)",
    auth=requires(CHANGE),
    openapi_extra=example(
        {"lines": [[{"sku": "DUMPLING-500G", "quantity": 1}], [{"sku": "DUMPLING-500G", "quantity": 1}]]}
    ),
)
def post_split(request, package_id: Id, payload: SplitIn):
    parts = []
    for group in payload.lines:
        part: dict[str, int] = {}
        for ln in group:
            part[ln.sku] = part.get(ln.sku, 0) + ln.quantity
        parts.append(part)
    pkgs = services.split_package(package_id, parts, _actor(request))
    return {"packages": [_one(p.pk) for p in pkgs]}


# --- picking (the PDA's calls) and the supervisor ----------------------------------------------


class PickRowState(Schema):
    location: str | None
    sku: str
    quantity: int
    picked: int
    short: int


class WaveDetailOut(Schema):
    id: str
    warehouse: str
    kind: str
    status: str
    picker: str | None
    packages: list[str]
    pick_list: list[PickRowState]


class PickIn(Schema):
    sku: Code  # a merchant code or a barcode
    quantity: int = Field(default=1, ge=1, le=100_000)


class ShortageOut(Schema):
    stopped: list[str]


class NoteIn(Schema):
    note: FreeText = ""


class CancelIn(Schema):
    reason: FreeText = Field(min_length=1, max_length=300)


def _wave(wave_id: Id) -> dict:
    wave = Wave.objects.select_related("warehouse", "picker").filter(pk=wave_id).first()
    if wave is None:
        raise HttpError(404, f"no wave '{wave_id}'")
    return {
        "id": str(wave.pk),
        "warehouse": wave.warehouse.code,
        "kind": wave.kind,
        "status": wave.status,
        "picker": wave.picker.get_username() if wave.picker else None,
        "packages": [str(pk) for pk in wave.packages.order_by("seed_slot", "pk").values_list("pk", flat=True)],
        "pick_list": [
            {"location": r.location or None, "sku": r.sku.code, "quantity": r.quantity, "picked": r.picked,
             "short": r.short}
            for r in wave.pick_rows.select_related("sku").order_by("position")
        ],
    }  # fmt: skip


@router.get(
    "/waves/{wave_id}",
    response={200: WaveDetailOut, **errors(401, 403, 404, 422)},
    summary="One wave with its pick list and progress",
    auth=requires(VIEW_WAVE),
)
def get_wave(request, wave_id: Id):
    return _wave(wave_id)


@router.post(
    "/waves/{wave_id}/claim",
    response={200: WaveDetailOut, 409: Refusal, **errors(401, 403, 404, 422)},
    summary="Claim a wave",
    auth=requires(PICK),
)
def post_claim(request, wave_id: Id):
    services.claim_wave(wave_id, request.user, _actor(request))
    return _wave(wave_id)


@router.post(
    "/waves/{wave_id}/pick",
    response={200: WaveDetailOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Record picked units",
    auth=requires(PICK),
    openapi_extra=example({"sku": "DUMPLING-500G", "quantity": 2}),
)
def post_pick(request, wave_id: Id, payload: PickIn):
    services.record_pick(wave_id, payload.sku, payload.quantity, _actor(request))
    return _wave(wave_id)


@router.post(
    "/waves/{wave_id}/shortage",
    response={200: ShortageOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Report a shortage at a location (packages stopped, recount asked)",
    auth=requires(PICK),
    openapi_extra=example({"sku": "DUMPLING-500G", "quantity": 1}),
)
def post_shortage(request, wave_id: Id, payload: PickIn):
    stopped = services.report_shortage(wave_id, payload.sku, payload.quantity, _actor(request))
    return {"stopped": [str(p.pk) for p in stopped]}


@router.post(
    "/waves/{wave_id}/finish",
    response={200: WaveDetailOut, 409: Refusal, **errors(401, 403, 404, 422)},
    summary="Finish picking",
    auth=requires(PICK),
)
def post_finish(request, wave_id: Id):
    services.finish_wave(wave_id, _actor(request))
    return _wave(wave_id)


@router.post(
    "/packages/{package_id}/override",
    response={200: PackageOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Supervisor: let a package stopped by the weigh check go packed",
    auth=requires(SUPERVISE),
    openapi_extra=example({"note": "复称无误"}),
)
def post_override(request, package_id: Id, payload: NoteIn):
    services.override_weight_stop(package_id, _actor(request), payload.note)
    return _one(package_id)


@router.post(
    "/packages/{package_id}/resume",
    response={200: PackageOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Supervisor: send a stopped package back to pending",
    auth=requires(SUPERVISE),
    openapi_extra=example({"note": "补货后重新处理"}),
)
def post_resume(request, package_id: Id, payload: NoteIn):
    services.resume_package(package_id, _actor(request), payload.note)
    return _one(package_id)


@router.post(
    "/packages/{package_id}/cancel",
    response={200: PackageOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Supervisor: cancel a package before shipping",
    auth=requires(SUPERVISE),
    openapi_extra=example({"reason": "客户取消"}),
)
def post_cancel(request, package_id: Id, payload: CancelIn):
    services.cancel_package(package_id, _actor(request), payload.reason)
    return _one(package_id)
