"""The warehouse floor's API: packages, waves, the pack check, merge and split (issue 9 item 7).

Each operation names the Django permission it needs (fulfilment models); superusers have all."""

from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from zhongshu.fulfilment import selectors, services
from zhongshu.fulfilment.models import Package

router = Router(tags=["fulfilment"])

VIEW, CHANGE, ADD_WAVE = "fulfilment.view_package", "fulfilment.change_package", "fulfilment.add_wave"


def require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise HttpError(403, f"permission '{perm}' required")


class OrderRef(Schema):
    shop: str
    channel_order_id: str


class LineIn(Schema):
    sku: str
    quantity: int = Field(ge=1)


class LineOut(Schema):
    sku: str
    quantity: int


class PackageOut(Schema):
    id: str
    status: str
    warehouse: str
    carrier: str | None
    orders: list[OrderRef]
    lines: list[LineOut]
    expected_weight_g: int
    measured_weight_g: int | None
    flags: list[str]
    stop_code: str | None
    stop_reason: str | None
    wave: str | None
    waybill_no: str | None


class PackageFilter(Schema):
    status: Package.Status | None = None
    warehouse: str | None = None


class Refusal(Schema):
    code: str
    detail: str


class WaveIn(Schema):
    warehouse: str
    strategy: str | None = None
    max_packages: int | None = Field(default=None, ge=1)


class PickRowOut(Schema):
    location: str | None
    sku: str
    quantity: int


class WaveOut(Schema):
    id: str
    packages: list[str]
    pick_list: list[PickRowOut]


class CheckIn(Schema):
    scans: list[str]
    weight_g: int = Field(ge=0)


class CheckOut(Schema):
    status: str


class MergeIn(Schema):
    with_: list[int] = Field(alias="with", min_length=1)


class SplitIn(Schema):
    lines: list[list[LineIn]] = Field(min_length=2)


class SplitOut(Schema):
    packages: list[PackageOut]


def _refused(exc: services.FloorError):
    if isinstance(exc, services.NotFound):
        raise HttpError(404, exc.detail)
    return Status(409, {"code": exc.code, "detail": exc.detail})


def _one(package_id: int) -> dict:
    pkg = selectors.packages().filter(pk=package_id).first()
    if pkg is None:
        raise HttpError(404, f"no package '{package_id}'")
    return selectors.package_out(pkg)


def _actor(request) -> str:
    return f"api:{request.user.get_username()}"


@router.get("/packages", response=list[PackageOut], summary="Packages, newest first, filtered and paged")
@paginate(PageNumberPagination, page_size=50)
def list_packages(request, filters: Query[PackageFilter]):
    require(request, VIEW)
    return [selectors.package_out(p) for p in selectors.packages(filters.status, filters.warehouse)]


@router.get("/packages/{package_id}", response=PackageOut, summary="One package with orders and lines")
def get_package(request, package_id: int):
    require(request, VIEW)
    return _one(package_id)


@router.post("/waves", response={201: WaveOut, 409: Refusal}, summary="Make a wave of pending packages")
def post_wave(request, payload: WaveIn):
    require(request, ADD_WAVE)
    try:
        wave = services.create_wave(
            payload.warehouse, payload.strategy, payload.max_packages, _actor(request)
        )
    except services.FloorError as exc:
        return _refused(exc)
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
    response={200: CheckOut, 409: Refusal},
    summary="Pack check: scans then weight (验货 + 称重)",
)
def post_check(request, package_id: int, payload: CheckIn):
    require(request, CHANGE)
    try:
        result = services.check_package(package_id, payload.scans, payload.weight_g, _actor(request))
    except services.FloorError as exc:
        return _refused(exc)
    if not result.ok:
        return Status(409, {"code": result.code, "detail": result.detail})
    return {"status": result.status}


@router.post(
    "/packages/{package_id}/merge", response={200: PackageOut, 409: Refusal}, summary="Merge packages (合单)"
)
def post_merge(request, package_id: int, payload: MergeIn):
    require(request, CHANGE)
    try:
        pkg = services.merge_packages(package_id, payload.with_, _actor(request))
    except services.FloorError as exc:
        return _refused(exc)
    return _one(pkg.pk)


@router.post(
    "/packages/{package_id}/split", response={200: SplitOut, 409: Refusal}, summary="Split a package (拆单)"
)
def post_split(request, package_id: int, payload: SplitIn):
    require(request, CHANGE)
    parts = []
    for group in payload.lines:
        part: dict[str, int] = {}
        for ln in group:
            part[ln.sku] = part.get(ln.sku, 0) + ln.quantity
        parts.append(part)
    try:
        pkgs = services.split_package(package_id, parts, _actor(request))
    except services.FloorError as exc:
        return _refused(exc)
    return {"packages": [_one(p.pk) for p in pkgs]}
