"""Density: memory against N live instances, along the profile's N ladder for
the backend's instance class, within a time budget per backend; stopped early,
and the reason recorded, at the budget, the machine's memory floor or task
ceiling, or an error. Instances per GiB are computed from it by
harness/density.py. The benchmark's own time is the sweep's duration only."""

from harness.analysis.density import instance_class
from harness.measure.density import density_sweep
from harness.measure.progress import steps


def test_density(benchmark, backend, worker, profile):
    benchmark.group = "density"
    counts = profile.density_counts_for(instance_class(backend.name, backend.instance_class))
    result = {}

    def sweep():
        with steps(f"density {backend.name} (N up to {max(counts)}, budget {profile.density_budget_s:g} s)",
                   max(counts)) as advance:
            result.update(density_sweep(backend, worker, counts, profile.density_budget_s, profile.density_settle_s,
                                        profile.density_memory_floor, profile.density_task_ceiling, advance))

    benchmark.pedantic(sweep, rounds=1, iterations=1)
    benchmark.extra_info.update({
        "metric": "density",
        "backend": backend.name,
        "timer": "duration of the whole density sweep, teardown included; not a performance figure",
        "density": result,
    })
