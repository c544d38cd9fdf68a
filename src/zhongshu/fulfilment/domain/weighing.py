"""The weigh check (称重复核): the expected weight and the tolerance, over and under separately."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Tolerance:
    """How far a measured weight may be from the expected one, over and under separately.

    A side's allowance is the LARGER of its grams and its percent of the expected weight: the
    grams cover the scale and packing material of small parcels, the percent covers large ones
    (50 g on 20 kg would be stricter than any scale). So a weight is outside the tolerance only
    when its deviation exceeds BOTH the grams and the percent; exactly at the bound is inside.
    """

    over_g: int = 50
    over_pct: Decimal = Decimal("5")
    under_g: int = 50
    under_pct: Decimal = Decimal("5")

    def allowance(self, expected_g: int, over: bool) -> Decimal:
        grams, pct = (self.over_g, self.over_pct) if over else (self.under_g, self.under_pct)
        return max(Decimal(grams), Decimal(pct) * expected_g / 100)


def expected_weight(lines: Mapping[str, int], sku_weights_g: Mapping[str, int], packaging_g: int = 0) -> int:
    """Σ SKU weight × quantity + the packaging's weight, in grams (unknown SKUs weigh 0)."""
    return sum(sku_weights_g.get(sku, 0) * q for sku, q in lines.items()) + packaging_g


@dataclass(frozen=True)
class WeighOutcome:
    ok: bool
    expected_g: int
    measured_g: int
    allowed_g: Decimal  # the allowance on the side the weight fell

    @property
    def deviation_g(self) -> int:
        return self.measured_g - self.expected_g

    @property
    def code(self) -> str:
        return "" if self.ok else "weight_out_of_tolerance"

    @property
    def reason(self) -> str:
        """The stop reason: both weights and the allowance, in grams."""
        side = "超重" if self.deviation_g > 0 else "偏轻"
        return (
            f"称重{side}：预计 {self.expected_g} 克，实称 {self.measured_g} 克，"
            f"相差 {abs(self.deviation_g)} 克（允许 {_grams(self.allowed_g)} 克）"
        )


def _grams(value: Decimal) -> str:
    return str(value.quantize(Decimal(1))) if value == value.to_integral() else str(value.normalize())


def weigh_check(expected_g: int, measured_g: int, tolerance: Tolerance | None = None) -> WeighOutcome:
    """Compare a measured weight to the expected one under `tolerance` (default 50 g / 5 %)."""
    if measured_g < 0 or expected_g < 0:
        raise ValueError("weights cannot be negative")
    tolerance = tolerance or Tolerance()
    over = measured_g >= expected_g
    allowed = tolerance.allowance(expected_g, over)
    return WeighOutcome(abs(measured_g - expected_g) <= allowed, expected_g, measured_g, allowed)
