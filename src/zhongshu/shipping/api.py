"""API out the door: a package's waybill, its label, the outbound scan (by package or by waybill)."""

from typing import Literal

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from zhongshu.core.auth import requires
from zhongshu.core.params import Code, Id
from zhongshu.core.responses import errors, example
from zhongshu.fulfilment.api import Refusal  # the floor's 409 body: one schema for every refusal
from zhongshu.fulfilment.models import Package, Wave
from zhongshu.shipping import printing, services
from zhongshu.shipping.models import Carrier, Provider
from zhongshu.shipping.views import pdf_response

router = Router(tags=["shipping"])
ISSUE = "shipping.add_waybill"
SHIP = "shipping.ship_package"


class WaybillIn(Schema):
    provider: Provider | None = None
    carrier: Carrier | None = None


class WaybillOut(Schema):
    package: str
    carrier: str
    waybill_no: str
    provider: str
    sort_code: str | None


class ShipIn(Schema):
    waybill_no: Code


class ShippedOut(Schema):
    package: str
    status: str
    carrier: str
    waybill_no: str
    orders: list[dict]
    already_shipped: bool


class PrintedIn(Schema):
    status: Literal["printed", "failed"]
    printer: str = Field("", max_length=128)
    detail: str = Field("", max_length=300)


class PrintedOut(Schema):
    package: str
    waybill_no: str
    printed_at: str | None


LabelSize = Literal["100x180", "76x130"]
PDF = {
    "responses": {
        200: {
            "description": "The label PDF (one page per package)",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def _actor(request) -> str:
    return f"api:{request.user.get_username()}"


def _waybill_out(w) -> dict:
    return {
        "package": str(w.package_id),
        "carrier": w.carrier,
        "waybill_no": w.waybill_no,
        "provider": w.provider,
        "sort_code": w.sort_code or None,
    }


@router.post(
    "/packages/{package_id}/waybill",
    response={200: WaybillOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Get the package's e-waybill (idempotent: again → the same waybill)",
    auth=requires(ISSUE),
    openapi_extra=example({}),
)
def post_waybill(request, package_id: Id, payload: WaybillIn | None = None):
    payload = payload or WaybillIn()
    waybill = services.issue_waybill(
        package_id,
        _actor(request),
        provider=payload.provider or "",
        carrier=payload.carrier or "",
    )
    return _waybill_out(waybill)


def _shipped_out(result: services.Shipped) -> dict:
    pkg, w = result.package, result.waybill
    return {
        "package": str(pkg.pk),
        "status": pkg.status,
        "carrier": w.carrier,
        "waybill_no": w.waybill_no,
        "orders": [
            {"shop": o.shop.code, "channel_order_id": o.channel_order_id, "status": o.status}
            for o in pkg.orders.select_related("shop").order_by("pk")
        ],
        "already_shipped": result.already,
    }


@router.post(
    "/packages/{package_id}/ship",
    response={200: ShippedOut, 409: Refusal, **errors(401, 403, 404, 422)},
    summary="Outbound scan of a packed package: shipped, stock consumed, platform told",
    auth=requires(SHIP),
)
def post_ship_package(request, package_id: Id):
    return _shipped_out(services.ship_package(package_id, _actor(request)))


@router.post(
    "/ship",
    response={200: ShippedOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Outbound scan by waybill number (the barcode on the label)",
    auth=requires(SHIP),
    openapi_extra=example({"waybill_no": "ZS990000000123"}),
)
def post_ship(request, payload: ShipIn):
    package_id = services.package_for_waybill(payload.waybill_no)
    return _shipped_out(services.ship_package(package_id, _actor(request)))


@router.delete(
    "/packages/{package_id}/waybill",
    response={200: WaybillOut, 409: Refusal, **errors(401, 403, 404, 422)},
    summary="Cancel the package's waybill (before it ships); the next request gets a new number",
    auth=requires(ISSUE),
)
def delete_waybill(request, package_id: Id):
    return _waybill_out(services.cancel_waybill(package_id, _actor(request)))


# --- labels and printing --------------------------------------------------------------------------


def _label(make, pk: int, user, size: str):
    """A label PDF (make: printing.package_pdf or wave_pdf), or the refusal as JSON."""
    try:
        return pdf_response(*make(pk, user, size))
    except PermissionDenied as exc:
        raise HttpError(
            403, f"自有商城订单的面单印有收货人明文，需要权限 orders.reveal_receiver（{exc}）"
        ) from exc


@router.get(
    "/packages/{package_id}/label.pdf",
    response={200: None, 409: Refusal, **errors(401, 403, 404, 422)},
    summary="The package's label PDF (100×180 or 76×130 mm thermal), its waybill number as Code 128",
    auth=requires(ISSUE),
    openapi_extra=PDF,
)
def get_label(request, package_id: Id, size: LabelSize = "100x180"):
    return _label(printing.package_pdf, package_id, request.user, size)


@router.get(
    "/waves/{wave_id}/labels.pdf",
    response={200: None, 409: Refusal, **errors(401, 403, 404, 422)},
    summary="The labels of a wave's packages, one page each (every package needs its waybill first)",
    auth=requires(ISSUE),
    openapi_extra=PDF,
)
def get_wave_labels(request, wave_id: Id, size: LabelSize = "100x180"):
    return _label(printing.wave_pdf, wave_id, request.user, size)


@router.post(
    "/packages/{package_id}/printed",
    response={200: PrintedOut, 409: Refusal, **errors(400, 401, 403, 404, 413, 422)},
    summary="Report the print component's result for the package's label (printed stamps the waybill)",
    auth=requires(ISSUE),
    openapi_extra=example({"status": "printed", "printer": "ZTO-ZD888", "detail": ""}),
)
def post_printed(request, package_id: Id, payload: PrintedIn):
    waybill = printing.record_print(
        package_id, payload.status, payload.printer, payload.detail, _actor(request)
    )
    return {
        "package": str(package_id),
        "waybill_no": waybill.waybill_no,
        "printed_at": waybill.printed_at.isoformat() if waybill.printed_at else None,
    }


class WaveRefusal(Schema):
    package: str
    code: str
    detail: str


class WaveWaybillsOut(Schema):
    wave: str
    issued: list[WaybillOut]
    already: list[WaybillOut]
    refused: list[WaveRefusal]


@router.post(
    "/waves/{wave_id}/waybills",
    response={200: WaveWaybillsOut, **errors(401, 403, 404, 422)},
    summary="Waybills for every package of a wave, batched per provider; one refusal keeps the others' numbers",
    auth=requires(ISSUE),
)
def post_wave_waybills(request, wave_id: Id):
    if not Wave.objects.filter(pk=wave_id).exists():
        raise HttpError(404, f"波次 {wave_id} 不存在")
    ids = list(Package.objects.filter(wave_id=wave_id).order_by("pk").values_list("pk", flat=True))
    batch = services.issue_waybills(ids, _actor(request))
    return {
        "wave": str(wave_id),
        "issued": [_waybill_out(w) for w in batch.issued],
        "already": [_waybill_out(w) for w in batch.already],
        "refused": [
            {"package": str(pid), "code": code, "detail": detail}
            for pid, (code, detail) in sorted(batch.refused.items())
        ],  # fmt: skip
    }
