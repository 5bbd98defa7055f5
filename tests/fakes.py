"""A backend made of plain Python objects, for testing procedures that work on
any Backend (density, concurrency) without starting an engine."""

from __future__ import annotations

import threading
import time

from harness.backends.base import (
    Availability,
    Backend,
    BackendError,
    Instance,
    MemoryFigure,
    PhaseClock,
)
from harness.runtime.worker import AnswerRule

MIB = 1 << 20


class FakeInstance(Instance):
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.stopped = False
        self.in_call = 0
        self.most_in_call = 0
        self._lock = threading.Lock()

    def call(self, arg: str) -> str:
        if self.stopped:
            raise BackendError("instance is stopped")
        with self._lock:
            self.in_call += 1
            self.most_in_call = max(self.most_in_call, self.in_call)
        time.sleep(self.delay_s)  # releases the GIL, like a wait on a pipe
        with self._lock:
            self.in_call -= 1
        return f"Hello {arg}!"

    def ping(self) -> None:
        pass

    def engine_time(self, arg: str, min_ms: float) -> dict:
        return {"handler_ns": 2.0, "loop_ns": 1.0, "calls": 1000, "clock": "performance.now",
                "clock_resolution_ns": 1000.0}

    def _release(self) -> None:
        self.stopped = True


class FakeBackend(Backend):
    """Each instance costs bytes_per_instance of `uss`; start number fail_at fails."""

    name = "fake"
    summary = "plain Python objects"
    described_as = "a fake instance"
    family = "in-process"
    instance_class = "in-process"

    def __init__(self, bytes_per_instance: int = MIB, fail_at: int | None = None, delay_s: float = 0.0,
                 concurrency_modes=("per-caller", "shared"), on_start=lambda: None, limits=None) -> None:
        super().__init__(limits)
        self.bytes_per_instance = bytes_per_instance
        self.fail_at = fail_at
        self.delay_s = delay_s
        self.concurrency_modes = tuple(concurrency_modes)
        self.on_start = on_start  # e.g. moves a fake clock on
        self.started: list[FakeInstance] = []

    def availability(self) -> Availability:
        return Availability(True)

    def start(self, worker, clock: PhaseClock) -> Instance:
        self.on_start()
        if self.fail_at is not None and len(self.started) + 1 >= self.fail_at:
            raise BackendError("no more room")
        instance = FakeInstance(self.delay_s)
        instance.track(self.live)
        self.started.append(instance)
        clock.mark("create")
        return instance

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        return [MemoryFigure("uss", 4 * MIB + self.bytes_per_instance * len(instances), "fake"),
                MemoryFigure("pss", 4 * MIB + 2 * self.bytes_per_instance * len(instances), "fake")]

    def memory_baseline(self) -> list[MemoryFigure]:
        return [MemoryFigure("uss", 4 * MIB, "fake"), MemoryFigure("pss", 4 * MIB, "fake")]

    def versions(self) -> dict[str, str]:
        return {}


class FakeWorker:
    bundle = ""
    answers = AnswerRule(deterministic=True)


class FakeDropsLimits(FakeBackend):
    """A backend whose from_options forgets the Limits it is given."""

    @classmethod
    def from_options(cls, options):
        return cls()
