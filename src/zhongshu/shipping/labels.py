"""The waybill label as a PDF made by zhongshu (reportlab), for 100 × 180 mm and 76 × 130 mm thermal
labels: the carrier, the sort code (大头笔) where the provider gave one, the waybill number as a Code 128
barcode (twice: the courier's part and the tear-off stub), receiver, sender, item summary, the
`signature_required` mark, and 测试面单 across a sandbox label. One page per label; a wave's labels
are one PDF.

Plain data in, bytes out: what a label may show (a platform order's receiver masked, an own-shop
order's in clear) is decided by the caller (shipping.printing). Chinese text uses reportlab's built-in
CID font STSong-Light (Adobe-GB1), so no font file is shipped; a PDF viewer or printer driver supplies
the glyphs (pdfium and every Chinese Windows do).

Sizes: 100 × 180 mm is the Cainiao demo's thermal paper size (setPrinterConfig paperSize
{width:100, height:180}, garrettzxd/print-demo src/common/cainiaoPrint.js); 76 × 130 mm is SF's
standard cloud-print template (`fm_76130_standard_{partnerId}`). The barcode's narrow bar is a whole
number of 203 dpi printer dots (0.125 mm), at least two, so a thermal head prints it crisp.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

CJK = "STSong-Light"
LATIN = "Helvetica-Bold"
SIZES: dict[str, tuple[int, int]] = {"100x180": (100, 180), "76x130": (76, 130)}
DEFAULT_SIZE = "100x180"
DOT = 25.4 / 203  # one dot of a 203 dpi thermal head, in mm
MAX_ITEMS = 4  # item lines on the label; the rest are summed up

pdfmetrics.registerFont(UnicodeCIDFont(CJK))
# Binary page streams instead of ASCII85 (reportlab's default): a quarter smaller, and without the
# optional C accelerator (rl-accel) ASCII85 is a quarter of the render time. Nothing else in the hub
# uses reportlab.
rl_config.useA85 = 0


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    address: str  # one line: province city district street


@dataclass(frozen=True)
class LabelData:
    waybill_no: str
    carrier: str  # the carrier's display name
    receiver: Person
    sender: Person
    sort_code: str = ""
    destination: str = ""  # province + city: printed big when there is no sort code
    items: tuple[str, ...] = ()  # "明前龙井 100g ×2"
    units: int = 0
    orders: tuple[str, ...] = ()
    package: str = ""  # "P12"
    weight_g: int | None = None
    signature_required: bool = False
    sandbox: bool = False
    masked: bool = False  # the receiver is masked (the platform's component prints the real one)
    printed_at: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def size_of(name: str) -> tuple[int, int]:
    """(width, height) in mm of a label size name; ValueError naming the sizes for another."""
    try:
        return SIZES[name or DEFAULT_SIZE]
    except KeyError:
        raise ValueError(f"size must be one of {', '.join(SIZES)}") from None


def render(labels: Iterable[LabelData], size: str = DEFAULT_SIZE) -> bytes:
    """A PDF with one page per label."""
    width, height = size_of(size)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width * mm, height * mm), pageCompression=1)
    c.setTitle("面单")
    c.setCreator("zhongshu")
    pages = 0
    for label in labels:
        _Page(c, width, height).draw(label)
        c.showPage()
        pages += 1
    if not pages:
        raise ValueError("no label to print")
    c.save()
    return buf.getvalue()


def wrap(text: str, font: str, size: float, width_pt: float, max_lines: int) -> list[str]:
    """Break text into lines no wider than width_pt (Chinese has no spaces: any character may end a
    line); the last line ends with … when text is left over."""
    lines, line = [], ""
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, font, size) > width_pt and line:
            lines.append(line)
            line = ch
        else:
            line += ch
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and pdfmetrics.stringWidth(last + "…", font, size) > width_pt:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def barcode(value: str, max_width_mm: float, height_mm: float) -> Code128:
    """Code 128 of value, its narrow bar a whole number of printer dots (2–3), as wide as fits."""
    probe = Code128(value, barWidth=1, quiet=0)
    modules = probe.width + 20  # plus a quiet zone of 10 modules each side
    dots = max(2, min(3, int(max_width_mm / modules / DOT)))
    return Code128(value, barWidth=dots * DOT * mm, barHeight=height_mm * mm, humanReadable=False,
                   quiet=1, lquiet=10 * dots * DOT * mm, rquiet=10 * dots * DOT * mm)  # fmt: skip


class _Page:
    """One label drawn top-down; positions are in the 100 × 180 mm design, scaled to the paper."""

    def __init__(self, c: canvas.Canvas, width: float, height: float):
        self.c, self.w, self.h = c, width, height
        self.sx, self.sy = width / 100, height / 180
        self.fs = min(self.sx, self.sy)  # font scale
        self.margin = 3 * self.sx

    # --- geometry: x and y in design mm from the top-left corner ---------------------------------
    def X(self, x: float) -> float:
        return x * self.sx * mm

    def Y(self, y: float) -> float:
        return (self.h - y * self.sy) * mm

    def text(self, x: float, y: float, s: str, size: float, font: str = CJK, bold: bool = False,
             align: str = "left") -> None:  # fmt: skip
        size *= self.fs
        t = self.c.beginText()
        t.setFont(font, size)
        if bold:  # STSong-Light has no bold face: fill and stroke the glyphs
            t.setTextRenderMode(2)
            self.c.setLineWidth(size / 30)
        width = pdfmetrics.stringWidth(s, font, size)
        left = self.X(x) - (width if align == "right" else width / 2 if align == "center" else 0)
        t.setTextOrigin(left, self.Y(y))
        t.textLine(s)
        self.c.drawText(t)
        self.c.setLineWidth(0.5)

    def rule(self, y: float, dashed: bool = False) -> None:
        self.c.setDash(2, 2) if dashed else self.c.setDash()
        self.c.line(self.margin * mm, self.Y(y), (self.w - self.margin) * mm, self.Y(y))
        self.c.setDash()

    def lines(self, x: float, y: float, text: str, size: float, width: float, max_lines: int,
              leading: float, bold: bool = False) -> float:  # fmt: skip
        """Wrapped text from (x, y) within width (design mm); returns the y below it."""
        for line in wrap(text, CJK, size * self.fs, width * self.sx * mm, max_lines):
            self.text(x, y, line, size, bold=bold)
            y += leading
        return y

    def badge(self, x: float, y: float, s: str) -> None:
        side = 7
        self.c.rect(self.X(x), self.Y(y + side), side * self.sx * mm, side * self.sy * mm, fill=1)
        self.c.setFillGray(1)
        self.c.setStrokeGray(1)
        self.text(x + side / 2, y + side - 2, s, 13, bold=True, align="center")
        self.c.setFillGray(0)
        self.c.setStrokeGray(0)

    def code(self, value: str, top: float, height: float, width: float) -> float:
        bc = barcode(value, width * self.sx, height * self.sy)
        left = (self.w * mm - bc.width) / 2
        bc.drawOn(self.c, left, self.Y(top + height))
        return top + height

    # --- the label -----------------------------------------------------------------------------
    def draw(self, d: LabelData) -> None:
        c = self.c
        c.setLineWidth(0.5)
        if d.sandbox:
            self.watermark()
        right = 100 - 3
        # header: carrier, marks
        self.text(3, 8, d.carrier, 15, bold=True)
        marks = []
        if d.sandbox:
            marks.append("测试面单 不可发货")
        if d.signature_required:
            marks.append("签收验证")
        if marks:
            self.mark(right, 2, "  ".join(marks))
        self.rule(11)
        # sort code (大头笔 / 三段码), else the destination city, large
        big = d.sort_code or d.destination
        if big:
            size = 26 if len(big) <= 10 else 20 if len(big) <= 16 else 15
            self.text(50, 21.5, big[:28], size, bold=True, align="center")
        self.rule(25)
        # the waybill barcode
        top = self.code(d.waybill_no, 27, 17, 94)
        self.text(50, top + 5, _spaced(d.waybill_no), 12, font=LATIN, align="center")
        self.rule(51)
        # receiver
        self.badge(3, 53, "收")
        self.text(12, 58, f"{d.receiver.name}  {d.receiver.phone}", 12, bold=True)
        y = self.lines(12, 64, d.receiver.address, 10, 85, 3, 5)
        if d.masked:
            self.text(12, max(y, 74), "收件人已脱敏，以平台打印组件面单为准", 7)
        self.rule(79)
        # sender
        self.badge(3, 81, "寄")
        self.text(12, 85, f"{d.sender.name}  {d.sender.phone}", 9)
        self.lines(12, 90, d.sender.address, 8, 85, 1, 4)
        self.rule(93)
        # contents
        self.contents(d, 98, 4.2)
        self.text(3, 121, d.printed_at, 6.5)
        if d.package:
            self.text(right, 121, d.package, 9, font=LATIN, align="right")
        self.rule(124, dashed=True)
        # the stub: number again, the receiver, the contents
        self.text(3, 129, f"{d.carrier}  {d.waybill_no}", 8)
        top = self.code(d.waybill_no, 131, 12, 80)
        self.text(50, top + 4, d.waybill_no, 9, font=LATIN, align="center")
        self.text(3, 153, f"收：{d.receiver.name}  {d.receiver.phone}", 8)
        self.lines(3, 157.5, d.receiver.address, 7, 94, 2, 3.6)
        self.contents(d, 166, 3.6, size=7, max_items=2)
        if d.signature_required:
            self.mark(right, 171, "签收验证")

    def contents(
        self, d: LabelData, y: float, leading: float, size: float = 8, max_items: int = MAX_ITEMS
    ) -> float:
        shown = d.items[:max_items]
        for line in shown:
            y = self.lines(3, y, line, size, 94, 1, leading)
        if len(d.items) > len(shown):
            y = self.lines(3, y, f"…另 {len(d.items) - len(shown)} 种商品", size, 94, 1, leading)
        summary = f"共 {d.units} 件"
        if d.weight_g:
            summary += f"  {d.weight_g / 1000:.2f} kg"
        if d.orders:
            summary += "  订单 " + "、".join(d.orders)
        return self.lines(3, y, summary, size, 94, 1, leading)

    def mark(self, right: float, top: float, s: str) -> None:
        """A black box with white text, right-aligned at `right` (design mm)."""
        size = 10
        width = pdfmetrics.stringWidth(s, CJK, size * self.fs) / (self.sx * mm) + 3
        self.c.rect(self.X(right - width), self.Y(top + 7), width * self.sx * mm, 7 * self.sy * mm, fill=1)
        self.c.setFillGray(1)
        self.c.setStrokeGray(1)
        self.text(right - width / 2, top + 5.2, s, size, bold=True, align="center")
        self.c.setFillGray(0)
        self.c.setStrokeGray(0)

    def watermark(self) -> None:
        c = self.c
        c.saveState()
        c.setFillGray(0.85)
        c.setStrokeGray(0.85)
        c.translate(self.w * mm / 2, self.h * mm / 2)
        c.rotate(58)
        for dy in (-28, 28):
            c.setFont(CJK, 30 * self.fs)
            c.drawCentredString(0, dy * self.fs * mm, "测试面单 · 不可发货")
        c.restoreState()


def _spaced(number: str) -> str:
    """The number in groups of four, as carriers print it (easier to read out on the phone)."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
