"""Latency distributions as HdrHistograms (the `hdrhistogram` package): every
per-call series a results file keeps (warm call and transport, in each CPU
regime) is also written as an encoded histogram, in nanoseconds with 3
significant digits, so tools that read HdrHistogram can take it, and the deep
tail is reported with its counts: p99.9 of 2,000 calls rests on 2 calls, and
says so. Pure functions."""

from __future__ import annotations

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_NS, HIGHEST_NS, DIGITS = 1, 600_000_000_000, 3  # 1 ns to 10 minutes, 0.1% precision
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def histogram(values_s) -> HdrHistogram:
    found = HdrHistogram(LOWEST_NS, HIGHEST_NS, DIGITS)
    for value in values_s:
        found.record_value(min(HIGHEST_NS, max(LOWEST_NS, int(round(value * 1e9)))))
    return found


def encode(values_s) -> str:
    """The series as a compressed, base64 HdrHistogram (HISTFAAA...)."""
    return histogram(values_s).encode().decode("ascii")


def tail(values_s) -> dict:
    """Each percentile of PERCENTILES in µs (HdrHistogram's value, 0.1%
    precision), with the count of calls at or above it: how many calls the
    figure rests on."""
    found = histogram(values_s)
    calls_ns = np.asarray(values_s, dtype=float) * 1e9
    out: dict = {"calls": int(found.get_total_count())}
    for percentile in PERCENTILES:
        value = found.get_value_at_percentile(percentile)
        floor = found.get_lowest_equivalent_value(value)
        out[f"p{percentile:g}".replace(".", "")] = {"us": value / 1e3,
                                                    "calls_at_or_above": int(np.sum(calls_ns >= floor))}
    return out


def decode_sum(encoded: list[str]) -> HdrHistogram | None:
    """The sum of encoded histograms (as `encode` writes them); None when there are none."""
    found = None
    for text in encoded:
        histogram = HdrHistogram.decode(text)
        if found is None:
            found = histogram
        else:
            found.add(histogram)
    return found


def count_at_or_above(found: HdrHistogram, value_ns: int) -> int:
    """Values recorded at or above `value_ns` (to the histogram's precision)."""
    floor = found.get_lowest_equivalent_value(value_ns)
    return int(sum(item.count_at_value_iterated_to for item in found.get_recorded_iterator()
                   if item.value_iterated_to >= floor))
