"""Small synthetic isobench results files for the compare/history/export tests:
valid for harness.results.store.parse, with samples drawn from known distributions."""

from __future__ import annotations

import json

import numpy as np

from harness.measure.metadata import SCHEMA
from harness.results.store import parse

# Median of each figure in seconds (timings) or bytes (memory per instance).
TYPICAL = {
    ("isolate", "cold_start"): 4e-3, ("subprocess", "cold_start"): 50e-3, ("container", "cold_start"): 330e-3,
    ("isolate", "warm_call"): 100e-6, ("subprocess", "warm_call"): 60e-6, ("container", "warm_call"): 200e-6,
    ("isolate", "transport"): 90e-6, ("subprocess", "transport"): 50e-6, ("container", "transport"): 190e-6,
}
MEMORY = {"isolate": {"uss": 0.7 * 2**20, "pss": 0.7 * 2**20},
          "subprocess": {"uss": 5.8 * 2**20, "pss": 6.4 * 2**20},
          "container": {"uss": 6.7 * 2**20, "pss": 7.4 * 2**20, "cgroup": 6.7 * 2**20, "shim_pss": 2.7 * 2**20}}
MACHINE = {"cpu_model": "Test CPU", "cpu_count": 2, "kernel": "6.0-test", "python": "3.11.7",
           "hostname": "testbox", "memory_total_bytes": 1 << 34, "load_average": [0.1, 0.1, 0.1]}
VERSIONS = {"isolate": {"v8": "14.4", "mini-racer": "0.14.1"}, "subprocess": {"node": "20.20.2", "v8": "11.3"},
            "container": {"docker_engine": "20.10.24", "runtime": "runc", "image": "isobench/node-runner:test"}}


def results_dict(timings: dict, memory: dict | None = None, first_isolate_ms=None, *, commit: str | None = "a" * 40,
                 started: str = "2026-01-01T00:00:00+00:00", machine: dict | None = None,
                 versions: dict | None = None, injected: dict | None = None, worker_sha: str = "0" * 64,
                 profile: str = "quick", load_at_start: list | None = None) -> dict:
    """timings: {(backend, metric): samples in seconds}; memory: {backend: {kind: bytes}}."""
    memory = memory or {}
    versions = VERSIONS if versions is None else versions
    benchmarks, names = [], []
    for (backend, metric), values in timings.items():
        extra = {"metric": metric, "backend": backend, "unit": "s"}
        if metric == "cold_start" and backend == "isolate" and first_isolate_ms is not None:
            extra["first_isolate"] = {"total_ms": [float(v) for v in first_isolate_ms]}
        benchmarks.append({"name": f"test_{metric}[{backend}]", "group": metric, "params": {"backend_name": backend},
                           "extra_info": extra, "stats": {"data": [float(v) for v in values]}})
        names.append(backend)
    for backend, per in memory.items():
        benchmarks.append({"name": f"test_memory[{backend}]", "group": "memory", "params": {"backend_name": backend},
                           "extra_info": {"metric": "memory", "backend": backend,
                                          "memory": {"per_instance_bytes": dict(per), "per_instance_at_n": 50}},
                           "stats": {"data": [1.0]}})
        names.append(backend)
    names = list(dict.fromkeys(names))
    git = {"commit": commit, "branch": "main", "dirty": False} if commit else {}
    raw = {
        "machine_info": {"isobench": {**MACHINE, **(machine or {}), "git": git}},
        "commit_info": {"id": commit, "time": started, "dirty": False} if commit else {},
        "benchmarks": benchmarks,
        "datetime": started,
        "version": "5.3.1",
        "isobench": {
            "schema": SCHEMA, "harness_version": "0.1.0", "status": "complete", "started": started,
            "profile": {"name": profile}, "worker": {"path": "hello/worker.js", "sha256": worker_sha},
            "requested_backends": names,
            "backends": {b: {"available": True, "reason": "", "versions": versions.get(b, {})} for b in names},
            "pinned_cpus": None, "child_environment": {"inherited": []}, "container_base_image": None,
            "injected": injected or {},
            "load_average_at_start": load_at_start or [0.1, 0.1, 0.1],
        },
    }
    parse(json.loads(json.dumps(raw)))  # must stay a valid results file
    return raw


def draw(rng, median: float, n: int, cv: float) -> np.ndarray:
    """Lognormal samples with this median and roughly this coefficient of variation."""
    return median * rng.lognormal(0.0, cv, n)


def synthetic_run(seed: int, *, slower: dict | None = None, cv: float = 0.1, cold_n: int = 30, warm_n: int = 400,
                  memory_scale: dict | None = None, **kwargs) -> dict:
    """A three-backend run; `slower` multiplies a figure's distribution, e.g.
    {("container", "cold_start"): 1.3}; memory_scale multiplies a backend's memory."""
    rng = np.random.default_rng(seed)
    slower, memory_scale = slower or {}, memory_scale or {}
    timings = {}
    for (backend, metric), median in TYPICAL.items():
        n = cold_n if metric == "cold_start" else warm_n
        timings[(backend, metric)] = draw(rng, median * slower.get((backend, metric), 1.0), n, cv)
    first = draw(rng, 60.0 * slower.get(("isolate", "first_isolate"), 1.0), 10, cv)
    memory = {b: {k: v * memory_scale.get(b, 1.0) for k, v in kinds.items()} for b, kinds in MEMORY.items()}
    return results_dict(timings, memory, first, **kwargs)


def write(path, raw: dict):
    path.write_text(json.dumps(raw))
    return path
