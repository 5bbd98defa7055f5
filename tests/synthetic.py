"""Synthetic runs (harness.results.model.Run) with trials, drawn from known
distributions: for the statistics, compare, history, export and report tests."""

from __future__ import annotations

import numpy as np

from harness.results.model import (
    BackendInfo,
    BackendResult,
    ColdStart,
    Conditions,
    FrozenMap,
    Machine,
    Memory,
    MemoryStep,
    MemorySweep,
    Profile,
    Provenance,
    Stopping,
    Run,
    Series,
    TrialInfo,
    WorkerInfo,
)

MIB = float(1 << 20)
# Median of each figure in seconds.
TYPICAL = {
    ("isolate", "cold_start"): 4e-3, ("subprocess", "cold_start"): 50e-3, ("container", "cold_start"): 330e-3,
    ("isolate", "warm_call"): 100e-6, ("subprocess", "warm_call"): 60e-6, ("container", "warm_call"): 200e-6,
    ("isolate", "transport"): 90e-6, ("subprocess", "transport"): 50e-6, ("container", "transport"): 190e-6,
}
CPU_SHARE = {"isolate": 0.95, "subprocess": 0.9, "container": 0.4}  # CPU time / wall time of a cold start
MEMORY = {"isolate": {"uss": 0.7 * MIB, "pss": 0.7 * MIB},
          "subprocess": {"uss": 5.8 * MIB, "pss": 6.4 * MIB},
          "container": {"uss": 6.7 * MIB, "pss": 7.4 * MIB, "cgroup": 6.7 * MIB, "shim_pss": 2.7 * MIB}}
FAMILY = {"isolate": ("in-process", 0, "a V8 isolate"), "subprocess": ("process", 0, "a node process"),
          "container": ("container", 0, "a Docker container")}
ROLES = {"isolate": ("v8-isolate",), "subprocess": ("node-process",), "container": ("docker-container",)}
MACHINE = Machine(cpu_model="Test CPU", cpu_count=2, kernel="6.0-test", python="3.11.7", hostname="testbox",
                  memory_total_bytes=1 << 34, timer=FrozenMap({"timer": "time.perf_counter_ns",
                                                              "read_overhead_median_ns": 70}))


def synthetic_run(seed: int, *, trials: int = 3, rounds: int = 10, warm_n: int = 100, cv: float = 0.1,
                  trial_cv: float = 0.03, cpu_cv: float | None = None, slower: dict | None = None,
                  memory_scale: dict | None = None, memory_trial_cv: float = 0.005, backends=("isolate", "subprocess", "container"),
                  commit: str | None = "a" * 40, started: str = "2026-01-01T00:00:00+00:00",
                  profile: str = "quick", injected: dict | None = None, worker_sha: str = "0" * 64,
                  load: tuple = (0.1, 0.1, 0.1), versions: dict | None = None, machine: Machine = MACHINE,
                  status: str = "complete", trial_base: int = 0) -> Run:
    """A run of `trials` trials. Each trial shifts every figure by a common
    lognormal factor (sd trial_cv: the machine's state while it ran); samples
    inside a trial are lognormal with sd cv. `slower` multiplies a figure's
    distribution, e.g. {("container", "cold_start"): 1.3}; cpu_cv defaults to cv."""
    rng = np.random.default_rng(seed)
    slower, memory_scale = slower or {}, memory_scale or {}
    ids = list(range(trial_base, trial_base + trials))
    shift = {t: float(np.exp(rng.normal(0, trial_cv))) for t in ids}
    results = {}
    for name in backends:
        def series(key, n, sd, factor=1.0):
            values, tags = [], []
            for t in ids:
                median = TYPICAL[(name, key)] * slower.get((name, key), 1.0) * shift[t] * factor
                values += list(median * rng.lognormal(0.0, sd, n))
                tags += [t] * n
            return Series(tuple(round(v, 9) for v in values), tuple(tags))

        wall = series("cold_start", rounds, cv)
        cpu = series("cold_start", rounds, cpu_cv if cpu_cv is not None else cv,
                     CPU_SHARE[name] * slower.get((name, "cold_start_cpu"), 1.0))
        sweeps = []
        for t in ids:
            kinds = {k: v * memory_scale.get(name, 1.0) * float(np.exp(rng.normal(0, memory_trial_cv)))
                     for k, v in MEMORY[name].items()}
            steps = tuple(MemoryStep(n, FrozenMap({k: v * n for k, v in kinds.items()})) for n in (1, 10))
            sweeps.append(MemorySweep(trial=t, counts=(1, 10), steps=steps,
                                      scopes=FrozenMap({k: f"synthetic {k}" for k in kinds})))
        family, index, described = FAMILY[name]
        info = BackendInfo(name=name, available=True, summary=f"synthetic {name}", transport="synthetic",
                           family=family, family_index=index, instance_class=family, described_as=described,
                           reference=name == "isolate", roles=ROLES[name], versions=FrozenMap((versions or {}).get(name, {"v": "1"})))
        results[name] = BackendResult(
            info=info,
            cold_start=ColdStart(wall=wall, cpu=cpu, cpu_scope="synthetic",
                                 phases=FrozenMap({"start": wall}), answers=("Hello World!",)),
            warm_call=series("warm_call", warm_n, cv), transport=series("transport", warm_n, cv),
            memory=Memory(tuple(sweeps)))
    from harness.results.model import InjectedDelay

    return Run(
        status=status,
        provenance=Provenance(started=started, commit=commit, branch="main", load_average=tuple(load),
                              harness_version="test"),
        machine=machine, profile=Profile(name=profile, stopping=Stopping(min_trials=trials, max_trials=trials)),
        worker=WorkerInfo("hello/worker.js", worker_sha, 100), conditions=Conditions(),
        trials=tuple(TrialInfo(index=t, status="complete") for t in ids),
        backends=FrozenMap(results), requested_backends=tuple(backends), finished=started,
        injected=FrozenMap({k: InjectedDelay(ms=v) for k, v in (injected or {}).items()}),
    )


def save_run(run: Run, path):
    from harness.results.store import save

    save(run, path)
    return path
