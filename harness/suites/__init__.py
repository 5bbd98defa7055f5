"""The suites: one module each (its procedure, records, figures, stopping
rule and report section: harness/suites/base.py), listed here in the order a
trial runs them. A new suite is one module and one line below."""

from __future__ import annotations

import importlib

from harness.results.vocabulary import REGIMES, Figure
from harness.suites.base import Suite

REGISTRY = (  # each module's SUITE, in the order a trial runs them
    "harness.suites.cold_start",
    "harness.suites.first_instance",
    "harness.suites.warm_call",
    "harness.suites.memory",
    "harness.suites.concurrency",
    "harness.suites.density",
    "harness.suites.storm",
    "harness.suites.load",
    "harness.suites.start_rate",
)
SUITES: dict[str, Suite] = {found.name: found for found in (importlib.import_module(m).SUITE for m in REGISTRY)}

# Every list of figures derives from the suites' declarations: idle-CPU figures first, in suite order.
FIGURES: dict[str, Figure] = {figure.key: figure for regime in REGIMES for suite in SUITES.values()
                              for figure in suite.figures if figure.regime == regime}
TIMINGS = tuple(key for key, figure in FIGURES.items() if figure.series)  # the timing series of a backend
RATIO_TIMINGS = tuple(key for key in TIMINGS if FIGURES[key].ratio)
TAILED = tuple(key for key in TIMINGS if FIGURES[key].tailed)
IDLE_FIGURES = tuple(key for key, figure in FIGURES.items() if figure.regime == "idle")
RECORDS: dict[str, type] = {key: kind for suite in SUITES.values() for key, kind in suite.records.items()}


def suite(name: str) -> Suite:
    try:
        return SUITES[name]
    except KeyError:
        raise ValueError(f"unknown suite {name!r}; choose among: {', '.join(SUITES)}") from None
