"""How many samples each measurement takes. `quick` is for CI and a first
look; `full` is what the committed reference results use."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    cold_rounds: int  # fresh instances timed per backend
    cold_warmups: int  # fresh instances started first and discarded
    first_isolate_rounds: int  # fresh Python processes, each timing its first isolate
    warm_min_rounds: int  # pytest-benchmark calibrated rounds, at least
    warm_max_time: float  # seconds pytest-benchmark spends per warm benchmark, at most
    warm_warmup_calls: int  # discarded calls on the warm instance before timing
    engine_repeats: int  # in-engine timing loops per backend
    engine_min_ms: float  # each in-engine loop lasts at least this long
    memory_counts: tuple[int, ...]  # N instances held alive at once
    isolate_memory_counts: tuple[int, ...]
    memory_settle_s: float  # pause before reading memory at each N

    def as_dict(self) -> dict:
        return asdict(self)

    def counts_for(self, backend: str) -> tuple[int, ...]:
        return self.isolate_memory_counts if backend.startswith("isolate") else self.memory_counts


PROFILES = {
    # A few samples of everything: for the test suite, not for figures.
    "smoke": Profile(
        name="smoke", cold_rounds=3, cold_warmups=1, first_isolate_rounds=2,
        warm_min_rounds=5, warm_max_time=0.05, warm_warmup_calls=5,
        engine_repeats=2, engine_min_ms=2.0,
        memory_counts=(1, 2), isolate_memory_counts=(1, 3),
        memory_settle_s=0.0,
    ),
    "quick": Profile(
        name="quick", cold_rounds=30, cold_warmups=3, first_isolate_rounds=10,
        warm_min_rounds=300, warm_max_time=1.0, warm_warmup_calls=200,
        engine_repeats=10, engine_min_ms=20.0,
        memory_counts=(1, 10, 50), isolate_memory_counts=(1, 10, 50, 200),
        memory_settle_s=0.5,
    ),
    "full": Profile(
        name="full", cold_rounds=100, cold_warmups=5, first_isolate_rounds=30,
        warm_min_rounds=2000, warm_max_time=3.0, warm_warmup_calls=1000,
        engine_repeats=30, engine_min_ms=50.0,
        memory_counts=(1, 10, 25, 50), isolate_memory_counts=(1, 10, 50, 200, 500),
        memory_settle_s=1.0,
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None
