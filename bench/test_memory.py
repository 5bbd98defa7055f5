"""Memory per instance: for each backend in turn (a new random order each
trial), N instances held alive at once for growing N, and the backend's
memory figures (USS, PSS, RSS, cgroup, shim, V8 heap ...) read at each N as
growth over its baseline. One backend at a time, because a figure such as the
harness's own USS would count every other backend's instances too."""

import pytest

from harness.measure.procedures import MemorySettings, memory_sweep

SUITE = "memory"


def test_memory(trial):
    names = trial.members(SUITE)
    if not names:
        pytest.skip("no backend to measure in this trial")
    profile = trial.profile
    for name in trial.order(names):
        backend = trial.backends[name]
        counts = profile.memory_counts_for(backend.instance_class)
        with trial.progress.steps(f"memory {name} (N = {', '.join(map(str, counts))})", max(counts)) as advance:
            try:
                settings = MemorySettings(counts, profile.memory_settle_s, trial.spec.index)
                sweep = memory_sweep(backend, trial.worker, settings, advance)
            except Exception as error:
                trial.fail(SUITE, name, error)
                continue
        trial.set(name, SUITE, sweep)
