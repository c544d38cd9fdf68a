"""Money is Decimal with two places, quantised once at the edge."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: str | int | Decimal | None) -> Decimal:
    """Parse a yuan amount into a two-place Decimal (never via float)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def fen_to_yuan(fen: int | str) -> Decimal:
    """Platforms that report fen (分) as integers."""
    return (Decimal(int(fen)) / 100).quantize(CENT)
