"""Test-only fault injection: make a backend slower on purpose, to show that
`compare` catches it. A run with an injected fault records it in
results["isobench"]["injected"], and compare warns about it, so such a file is
never mistaken for a real measurement."""

from __future__ import annotations

import math
import time

from harness.backends.base import Backend, Instance, PhaseClock
from harness.runtime.worker import Worker

INJECTED_PHASE = "injected_delay"


def parse_start_delays(text: str, known: list[str] | tuple[str, ...]) -> dict[str, float]:
    """'subprocess=40,container=100' -> {backend: milliseconds}; ValueError on bad input."""
    delays: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0
        if not sep or not math.isfinite(ms) or ms < 0:
            raise ValueError(f"bad start delay {part!r}: expected BACKEND=MS, e.g. subprocess=40")
        if name not in known:
            raise ValueError(f"bad start delay {part!r}: unknown backend {name!r}; known: {', '.join(known)}")
        delays[name] = ms
    return delays


def describe(delays: dict[str, float]) -> dict:
    """What goes into results["isobench"]["injected"]."""
    return {"start_delay_ms": dict(delays)} if delays else {}


class DelayedStart:
    """A backend whose start() first sleeps; the sleep is its own phase.
    Everything else is the wrapped backend's."""

    def __init__(self, backend: Backend, delay_ms: float):
        self._backend = backend
        self.delay_ms = delay_ms

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        time.sleep(self.delay_ms / 1e3)
        clock.mark(INJECTED_PHASE)
        return self._backend.start(worker, clock)

    def __getattr__(self, name):
        return getattr(self._backend, name)
