"""Label PDF benchmark (prints figures; asserts nothing): a wave of 500 labels rendered by
shipping.labels in both thermal sizes — seconds, pages per second, the PDF's size — and one page
read back by an independent barcode reader (pdfium at 203 dpi + zxing-cpp).

  .venv/bin/python bench/labels.py [--pages 500]

The render alone (no database): the label data of a wave costs a few queries per package on top.
"""

import argparse
import time

import pypdfium2 as pdfium
import zxingcpp

from zhongshu.shipping.labels import SIZES, LabelData, Person, render


def label(n: int) -> LabelData:
    return LabelData(
        waybill_no=f"SF{1400000000000 + n}",
        carrier="顺丰速运",
        sort_code="755 W 028-01",
        receiver=Person("王小明", "13800138000", f"四川省 成都市 武侯区 天府大道北段{n}号"),
        sender=Person("成都仓", "02888886666", "四川省成都市双流区物流大道1号"),
        items=("手工水饺 500g ×2", "明前龙井 100g ×1"),
        units=3,
        orders=(f"MP2026{n:06d}",),
        package=f"P{n}",
        weight_g=1130,
        signature_required=n % 10 == 0,
        printed_at="2026-12-07 08:41",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args()
    labels = [label(n) for n in range(1, args.pages + 1)]
    for size in SIZES:
        start = time.perf_counter()
        pdf = render(labels, size)
        seconds = time.perf_counter() - start
        page = pdfium.PdfDocument(pdf)[args.pages - 1]
        read = [r.text for r in zxingcpp.read_barcodes(page.render(scale=203 / 72).to_pil())]
        print(
            f"{size} mm: {args.pages} labels in {seconds:.2f} s ({args.pages / seconds:.0f} pages/s), "
            f"{len(pdf) / 1024:.0f} KiB; last page reads {read}"
        )


if __name__ == "__main__":
    main()
