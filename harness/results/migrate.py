"""Files written by isobench 1 (schema isobench/1) as schema isobench/2.

Schema 1 had no trials: every sample came from one process, one backend at a
time. A migrated run is one trial (id 0), and says so: its intervals cannot
include run-to-run spread, its provenance was recorded at the end of the run,
and its in-engine times came from a loop the JIT could empty (they are not
carried over). Schema 1 recorded no backend families; `V1_BACKENDS` is the
registry of isobench 1 as it was, so that old files group and colour as new
ones do, and ratios are over `isolate`, as schema 1 defined them.
"""

from __future__ import annotations

from typing import Any

from harness.results.schema import SCHEMA, ResultsError

# name -> (family, index in family, described as, reference): the backends isobench 1 shipped.
V1_BACKENDS = {
    "isolate": ("in-process", 0, "a V8 isolate (py_mini_racer)", True),
    "isolate-stpyv8": ("in-process", 1, "a V8 isolate (stpyv8)", False),
    "isolate-context": ("in-process", 2, "a V8 context in a shared isolate", False),
    "wasm": ("in-process", 3, "a QuickJS instance in WebAssembly", False),
    "subprocess": ("process", 0, "a node process", False),
    "subprocess-prefork": ("process", 1, "a node process from a warm pool", False),
    "workerd": ("process", 2, "a workerd process", False),
    "container": ("container", 0, "a Docker container", False),
    "container-crun": ("container", 1, "a Docker container under crun", False),
    "oci-runc": ("container", 2, "a runc container without Docker", False),
    "oci-crun": ("container", 3, "a crun container without Docker", False),
    "container-gvisor": ("sandboxed-container", 0, "a gVisor container", False),
}
V1_ROLES = {"isolate": ("v8-isolate",), "subprocess": ("node-process",), "subprocess-prefork": ("warm-process",),
            "container": ("docker-container",), "container-gvisor": ("gvisor-container",),
            "oci-runc": ("runc-direct",), "oci-crun": ("crun-direct",), "wasm": ("wasm-instance",)}
V1_INSTANCE_CLASS = {"in-process": "in-process", "process": "process", "container": "container",
                     "sandboxed-container": "container"}
MS = 1e-3


def _series(values: list, trial: int = 0) -> dict:
    return {"values": [float(v) for v in values], "trials": [trial] * len(values)}


def _ms_series(values: list) -> dict:
    return _series([float(v) * MS for v in values])


def migrate_v1(raw: dict, where: str = "results") -> dict:
    """A schema-1 file's JSON as schema-2 JSON (a new dict; the input is not changed)."""
    record: dict[str, Any] = raw["isobench"]
    machine: dict[str, Any] = (raw.get("machine_info") or {}).get("isobench") or {}
    git = machine.get("git") or {}
    benchmarks = []
    facts: dict[str, dict] = {}
    for index, bench in enumerate(raw["benchmarks"]):
        if not isinstance(bench, dict) or not isinstance(bench.get("stats"), dict):
            raise ResultsError(f"{where}: benchmark #{index} has no stats")
        extra = dict(bench.get("extra_info") or {})
        metric = extra.get("metric") or bench.get("group", "")
        backend = extra.get("backend") or (bench.get("params") or {}).get("backend_name", "")
        data = [float(v) for v in (bench["stats"].get("data") or [])]
        new_extra: dict[str, Any] = {"metric": metric, "backend": backend}
        if metric in ("cold_start", "warm_call", "transport"):
            new_extra.update(unit="s", trials=[0] * len(data))
        if metric == "cold_start":
            new_extra.update(timer=extra.get("timer", ""), answers=list(extra.get("answers") or []), cpu=None,
                             phases={p: _ms_series(v) for p, v in (extra.get("phases_ms") or {}).items()})
            if extra.get("backend_facts"):
                facts[backend] = extra["backend_facts"]
            first = extra.get("first_isolate")
            if first and first.get("total_ms"):
                new_extra["first_instance"] = {
                    "total": _ms_series(first["total_ms"]), "timer": first.get("timer", ""),
                    "phases": {p: _ms_series(v) for p, v in (first.get("phases_ms") or {}).items()},
                    "uss_growth_bytes": _series(first["uss_growth_bytes"]) if first.get("uss_growth_bytes") else None,
                }
        elif metric == "memory":
            sweep = extra.get("memory") or {}
            new_extra["sweeps"] = [{
                "trial": 0, "counts": sweep.get("counts", []),
                "steps": [{"n": s["n"], "total_bytes": s["total_bytes"]} for s in sweep.get("steps", [])],
                "baseline_bytes": sweep.get("baseline_bytes", {}), "scopes": sweep.get("scopes", {}),
                "settle_s": sweep.get("settle_s", 0.0), "duration_s": data[0] if data else 0.0,
            }] if sweep else []
        elif metric == "density":
            sweep = dict(extra.get("density") or {})
            if sweep:
                sweep["trial"] = 0
                sweep.pop("max_n_reached", None)
            new_extra["sweeps"] = [sweep] if sweep else []
        elif metric == "concurrency":
            modes = extra.get("concurrency") or {}
            new_extra["sweeps"] = [{"trial": 0, "primary_mode": extra.get("primary_mode") or "",
                                    "modes": modes}] if modes else []
        benchmarks.append({**bench, "extra_info": new_extra})
    backends = {}
    for name, status in (record.get("backends") or {}).items():
        family, family_index, described, reference = V1_BACKENDS.get(name, ("", 0, name, False))
        failures = [f"measurement: {status['failed']}"] if status.get("failed") else []
        backends[name] = {
            "name": name, "available": bool(status.get("available")), "reason": status.get("reason", ""),
            "summary": status.get("summary", ""), "transport": status.get("transport", ""), "family": family,
            "family_index": family_index, "instance_class": V1_INSTANCE_CLASS.get(family, "process"),
            "described_as": described, "reference": reference, "roles": list(V1_ROLES.get(name, ())),
            "versions": status.get("versions") or {},
            "facts": facts.get(name, {}), "failures": failures,
        }
    old_profile = record.get("profile") or {}
    profile = {"name": old_profile.get("name", "unknown"), "min_trials": 1, "max_trials": 1,
               "description": "isobench 1 run (one process, no trials)"}
    for key in ("cold_rounds", "cold_warmups", "engine_repeats", "engine_min_ms", "memory_settle_s",
                "density_budget_s", "density_settle_s", "density_memory_floor", "density_task_ceiling",
                "concurrency_duration_s", "concurrency_warmup_calls", "concurrency_max_calls"):
        if key in old_profile:
            profile[key] = old_profile[key]
    load_at_start = record.get("load_average_at_start")
    injected = {name: {"ms": float(ms)} for name, ms in ((record.get("injected") or {}).get("start_delay_ms") or {}).items()}
    new_record = {
        "schema": SCHEMA, "migrated_from": record.get("schema"), "status": record.get("status", "unknown"),
        "run_id": "", "finished": record.get("finished", ""),
        "provenance": {"started": record.get("started") or raw.get("datetime") or "", "commit": git.get("commit"),
                       "branch": git.get("branch"), "dirty": bool(git.get("dirty")),
                       "load_average": load_at_start or machine.get("load_average") or [],
                       "harness_version": record.get("harness_version", ""),
                       "recorded_at_start": False},
        "load_average_at_end": record.get("load_average_at_end") or [],
        "profile": profile, "worker": record.get("worker") or {},
        "conditions": {"pinned_cpus": record.get("pinned_cpus"), "base_image": record.get("container_base_image"),
                       "child_environment": record.get("child_environment") or {}},
        "requested_backends": record.get("requested_backends") or list(backends),
        "backends": backends,
        "trials": [{"index": 0, "status": "complete", "started": record.get("started", ""),
                    "finished": record.get("finished", "")}],
        "stopping": [], "injected": injected, "resumed": [],
    }
    new_machine = {key: machine.get(key) for key in ("cpu_model", "cpu_count", "affinity", "kernel", "os", "python",
                                                     "python_implementation", "memory_total_bytes", "hostname")}
    new_machine = {k: v for k, v in new_machine.items() if v is not None}
    new_machine["timer"] = machine.get("timer") or {}
    return {**raw, "benchmarks": benchmarks, "isobench": new_record,
            "machine_info": {**(raw.get("machine_info") or {}), "isobench": new_machine}}
