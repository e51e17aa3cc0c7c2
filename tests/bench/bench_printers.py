"""Receipt figures: bytes in Kanji mode against the raster baseline, and render time.

- ``receipt_bytes_10_items``: the print-test receipt (ten Japanese items of both rates, points,
  a ticket, an award and a QR code) in Kanji mode. Target: at most 3,000 bytes.
- ``receipt_raster_bytes_10_items``: the same receipt drawn as an image (the baseline, measured
  in this run). Target: Kanji mode at most a tenth of it.
- ``receipt_render_ms``: document to Kanji-mode bytes, median of 200 renders on one core.
  Target: under 20 ms.
"""

from __future__ import annotations

import statistics
import time

from _figures import record

from printers import decode, render
from printers.samples import ITEMS, sample_receipt


def main() -> None:
    receipt = sample_receipt()
    assert len(ITEMS) == 10 and receipt.qr
    kanji = render(receipt)
    raster = render(receipt, raster=True)
    assert any(line.startswith("[qr ") for line in decode(kanji))
    render(receipt)  # warm the caches, as a running terminal has them
    times = []
    for _ in range(200):
        start = time.perf_counter()
        render(receipt)
        times.append((time.perf_counter() - start) * 1000)
    ratio = len(raster) / len(kanji)
    record("receipt_bytes_10_items", len(kanji), f"target <= 3000; 1/{ratio:.0f} of raster")
    record("receipt_raster_bytes_10_items", len(raster), "baseline")
    record("receipt_render_ms", round(statistics.median(times), 3), "median of 200; target < 20")


if __name__ == "__main__":
    main()
