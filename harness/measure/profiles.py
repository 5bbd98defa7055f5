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
    # Density (bench/test_density.py): N ladders by instance class, each
    # backend's time budget, and the machine-safety floors that stop it early.
    density_in_process_counts: tuple[int, ...] = (1, 5, 20)
    density_process_counts: tuple[int, ...] = (1, 3)
    density_container_counts: tuple[int, ...] = (1, 2)
    density_budget_s: float = 20.0  # growing + reading memory, per backend; teardown is extra
    density_settle_s: float = 0.0
    density_memory_floor: float = 0.25  # stop when MemAvailable < this fraction of MemTotal
    density_task_ceiling: float = 0.5  # stop when the machine's tasks > this fraction of pid_max
    # Concurrency (bench/test_concurrency.py): callers at once, and per level
    # the timed window, the untimed calls per caller first, and a cap on calls.
    concurrency_levels: tuple[int, ...] = (1, 2, 4)
    concurrency_container_levels: tuple[int, ...] | None = None  # None: concurrency_levels
    concurrency_duration_s: float = 0.1
    concurrency_warmup_calls: int = 3
    concurrency_max_calls: int = 300

    def as_dict(self) -> dict:
        return asdict(self)

    def counts_for(self, backend: str) -> tuple[int, ...]:
        return self.isolate_memory_counts if backend.startswith("isolate") else self.memory_counts

    def density_counts_for(self, instance_class: str) -> tuple[int, ...]:
        return {"in-process": self.density_in_process_counts, "container": self.density_container_counts}.get(
            instance_class, self.density_process_counts)

    def concurrency_levels_for(self, instance_class: str) -> tuple[int, ...]:
        if instance_class == "container" and self.concurrency_container_levels is not None:
            return self.concurrency_container_levels
        return self.concurrency_levels


PROFILES = {
    # A few samples of everything: for the test suite, not for figures.
    "smoke": Profile(
        name="smoke", cold_rounds=3, cold_warmups=1, first_isolate_rounds=2,
        warm_min_rounds=5, warm_max_time=0.05, warm_warmup_calls=5,
        engine_repeats=2, engine_min_ms=2.0,
        memory_counts=(1, 2), isolate_memory_counts=(1, 3),
        memory_settle_s=0.0,  # density and concurrency: the fields' defaults
    ),
    "quick": Profile(
        name="quick", cold_rounds=30, cold_warmups=3, first_isolate_rounds=10,
        warm_min_rounds=300, warm_max_time=1.0, warm_warmup_calls=200,
        engine_repeats=10, engine_min_ms=20.0,
        memory_counts=(1, 10, 50), isolate_memory_counts=(1, 10, 50, 200),
        memory_settle_s=0.5,
        # A first look only: short ladders, 10 s per backend; 32 containers
        # at once only in full (starting them is most of the time).
        density_in_process_counts=(1, 10, 100), density_process_counts=(1, 10),
        density_container_counts=(1, 4), density_budget_s=10.0, density_settle_s=0.2,
        concurrency_levels=(1, 2, 8, 32), concurrency_container_levels=(1, 2, 8), concurrency_duration_s=0.3,
        concurrency_warmup_calls=20, concurrency_max_calls=5000,
    ),
    "full": Profile(
        name="full", cold_rounds=100, cold_warmups=5, first_isolate_rounds=30,
        warm_min_rounds=2000, warm_max_time=3.0, warm_warmup_calls=1000,
        engine_repeats=30, engine_min_ms=50.0,
        memory_counts=(1, 10, 25, 50), isolate_memory_counts=(1, 10, 50, 200, 500),
        memory_settle_s=1.0,
        # Up to what the machine holds in 180 s per backend: thousands of
        # isolates or contexts, hundreds of processes, up to 100 containers.
        density_in_process_counts=(1, 10, 100, 500, 1000, 2000, 5000, 10000),
        density_process_counts=(1, 10, 50, 100, 200, 350, 500),
        density_container_counts=(1, 5, 10, 25, 50, 75, 100), density_budget_s=180.0, density_settle_s=1.0,
        concurrency_levels=(1, 2, 8, 32), concurrency_duration_s=2.0, concurrency_warmup_calls=200,
        concurrency_max_calls=50000,
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None
