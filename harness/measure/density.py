"""Density: grow one set of live instances along an N ladder, reading the
backend's memory figures at each rung, until the ladder ends, the backend's
time budget is spent, the machine runs low on memory or tasks, or starting an
instance fails. What stopped it is recorded; the instances are always stopped.
The decisions and the arithmetic are in harness/density.py."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from harness.backends.base import Backend, Instance
from harness.analysis.density import LADDER_COMPLETE, instance_class, limit_reached, plan_next_rung
from harness.measure.procedures import ARG, cold_start
from harness.backends.memory_probes import release_freed_memory
from harness.runtime.worker import Worker


def machine_state() -> dict:
    """MemAvailable and MemTotal (bytes), the tasks (threads) alive on the
    machine and the kernel's limit on them (pid_max, threads-max), and the
    harness process's memory mappings and their limit (vm.max_map_count)."""
    memory = psutil.virtual_memory()
    state = {"available": memory.available, "total": memory.total, "tasks": None, "task_limit": None,
             "maps": None, "map_limit": None}
    try:
        state["maps"] = Path("/proc/self/maps").read_bytes().count(b"\n")
        state["map_limit"] = int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        pass
    try:
        state["tasks"] = int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])
        state["task_limit"] = min(int(Path("/proc/sys/kernel/pid_max").read_text()),
                                  int(Path("/proc/sys/kernel/threads-max").read_text()))
    except (OSError, ValueError, IndexError):
        pass
    return state


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{error.__class__.__name__}: {text[0] if text else ''}".rstrip(": ")


def density_sweep(backend: Backend, worker: Worker, counts: tuple[int, ...], budget_s: float, settle_s: float,
                  memory_floor: float = 0.25, task_ceiling: float = 0.5, advance=lambda amount=1: None,
                  arg: str = ARG, machine=machine_state, clock=time.monotonic) -> dict:
    """Hold more and more instances alive at once and read memory at each rung.

    The budget covers starting instances and reading memory; stopping them
    afterwards (teardown_s) is not in it.
    """
    klass = instance_class(backend.name, backend.instance_class)
    ladder = sorted(set(int(n) for n in counts))
    release_freed_memory()
    baseline = {figure.kind: figure.bytes for figure in backend.memory_baseline()}
    first = machine()
    floor_bytes = memory_floor * first["total"]
    instances: list[Instance] = []
    steps: list[dict] = []
    scopes: dict[str, str] = {}
    stopped: str | None = None
    start_s = 0.0  # time spent starting instances
    last_read_s = 0.0
    began = clock()
    try:
        for n_next in ladder:
            n_now = len(instances)
            then = None
            if steps:
                state = machine()
                drop = (first["available"] - state["available"]) / n_now if n_now else None
                target, then = plan_next_rung(n_now, n_next, clock() - began, budget_s, start_s / n_now,
                                              last_read_s, settle_s, state["available"], floor_bytes, drop)
                if target <= n_now:
                    stopped = then
                    break
            else:
                target = n_next
            while len(instances) < target and stopped is None:
                started = clock()
                try:
                    instance, _, _ = cold_start(backend, worker, arg)
                except Exception as error:  # any failure to grow is a finding, not a crash
                    stopped = f"error at N = {len(instances) + 1}: {_one_line(error)}"
                    break
                start_s += clock() - started
                instances.append(instance)
                advance()
                state = machine()
                stopped = limit_reached(clock() - began, budget_s, state["available"], state["total"],
                                        memory_floor, state["tasks"], state["task_limit"], task_ceiling,
                                        state.get("maps"), state.get("map_limit"))
            if instances and (not steps or steps[-1]["n"] < len(instances)):
                try:
                    step, step_scopes = _read(backend, instances, baseline, settle_s, clock)
                except Exception as error:
                    stopped = stopped or f"error reading memory at N = {len(instances)}: {_one_line(error)}"
                    break
                step["elapsed_s"] = clock() - began
                step["mem_available_bytes"] = machine()["available"]
                steps.append(step)
                scopes.update(step_scopes)
                last_read_s = step["read_s"]
            if stopped or then:
                stopped = stopped or then
                break
        growth_s = clock() - began
    finally:
        stopping = clock()
        for instance in instances:
            instance.stop()
        teardown_s = clock() - stopping
    return {
        "instance_class": klass,
        "ladder": ladder,
        "budget_s": budget_s,
        "memory_floor": memory_floor,
        "task_ceiling": task_ceiling,
        "settle_s": settle_s,
        "steps": steps,
        "baseline_bytes": baseline,
        "scopes": scopes,
        "max_n_reached": steps[-1]["n"] if steps else 0,
        "stopped_because": stopped or LADDER_COMPLETE,
        "stopped_early": stopped is not None,
        "growth_s": growth_s,
        "start_s_per_instance": start_s / len(instances) if instances else None,
        "teardown_s": teardown_s,
        "machine_at_start": {"mem_available_bytes": first["available"], "mem_total_bytes": first["total"],
                             "tasks": first["tasks"], "task_limit": first["task_limit"],
                             "maps": first.get("maps"), "map_limit": first.get("map_limit")},
    }


def _read(backend: Backend, instances: list[Instance], baseline: dict, settle_s: float, clock) -> tuple[dict, dict]:
    time.sleep(settle_s)
    reading = clock()
    release_freed_memory()
    figures = backend.memory(instances)
    read_s = clock() - reading
    totals = {figure.kind: figure.bytes - baseline.get(figure.kind, 0) for figure in figures}
    return ({"n": len(instances), "read_s": read_s, "total_bytes": totals},
            {figure.kind: figure.scope for figure in figures})
