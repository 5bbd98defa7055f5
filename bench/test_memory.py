"""Memory per instance: N instances held alive at once, for growing N; the
figures (by kind: USS, PSS, RSS, cgroup, shim PSS, docker stats, V8 heap) go
into extra_info. The benchmark's own time is the sweep's duration only."""

from harness.measure.procedures import memory_sweep
from harness.measure.progress import steps


def test_memory(benchmark, backend, worker, profile):
    benchmark.group = "memory"
    counts = profile.counts_for(backend.name)
    result = {}

    def sweep():
        with steps(f"memory {backend.name} (N={','.join(map(str, counts))})", max(counts)) as advance:
            result.update(memory_sweep(backend, worker, counts, profile.memory_settle_s, advance))

    benchmark.pedantic(sweep, rounds=1, iterations=1)
    benchmark.extra_info.update({
        "metric": "memory",
        "backend": backend.name,
        "timer": "duration of the whole memory sweep; not a performance figure",
        "memory": result,
    })
