"""Density: grow one set of live instances along an N ladder, reading the
backend's memory figures at each rung, until the ladder ends, the backend's
time budget is spent, the machine runs low on memory, tasks or memory
mappings, or starting an instance fails. What stopped it is recorded; the
instances are always stopped. The stop decisions are pure functions below;
the arithmetic on the results is in harness/analysis/density.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from harness.backends.base import Backend, Instance
from harness.backends.memory_probes import release_freed_memory
from harness.errors import one_line
from harness.procedures.instances import ARG, cold_start
from harness.runtime.worker import Worker

GIB = float(1 << 30)
MIB = float(1 << 20)
LADDER_COMPLETE = "ladder complete"


@dataclass(frozen=True)
class DensitySettings:
    counts: tuple[int, ...]  # the N ladder
    budget_s: float  # growing + reading memory; teardown is extra
    settle_s: float = 0.0
    memory_floor: float = 0.25  # stop when MemAvailable < this share of MemTotal
    task_ceiling: float = 0.5  # stop when the machine's tasks pass this share of the limit
    map_ceiling: float = 0.75  # stop when the harness's memory mappings pass this share of vm.max_map_count


@dataclass(frozen=True)
class MachineState:
    available: float  # MemAvailable, bytes
    total: float  # MemTotal, bytes
    tasks: int | None = None  # threads alive on the machine
    task_limit: int | None = None  # min(pid_max, threads-max)
    maps: int | None = None  # the harness process's memory mappings
    map_limit: int | None = None  # vm.max_map_count

    def to_json(self) -> dict:
        return {"mem_available_bytes": self.available, "mem_total_bytes": self.total, "tasks": self.tasks,
                "task_limit": self.task_limit, "maps": self.maps, "map_limit": self.map_limit}


def machine_state() -> MachineState:
    memory = psutil.virtual_memory()
    maps = map_limit = tasks = task_limit = None
    try:
        maps = Path("/proc/self/maps").read_bytes().count(b"\n")
        map_limit = int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        pass
    try:
        tasks = int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])
        task_limit = min(int(Path("/proc/sys/kernel/pid_max").read_text()),
                         int(Path("/proc/sys/kernel/threads-max").read_text()))
    except (OSError, ValueError, IndexError):
        pass
    return MachineState(memory.available, memory.total, tasks, task_limit, maps, map_limit)


# -- the decisions --------------------------------------------------------


def limit_reached(state: MachineState, settings: DensitySettings, elapsed_s: float) -> str | None:
    """Why growing must stop now, or None. Checked after every new instance.

    Mappings: past vm.max_map_count mmap fails and V8 aborts the whole process
    (about 20 mappings per py_mini_racer isolate: some 3,200 isolates at the
    default 65,530)."""
    if state.available < settings.memory_floor * state.total:
        return (f"memory floor: MemAvailable {state.available / GIB:.1f} GiB fell below "
                f"{settings.memory_floor:.0%} of {state.total / GIB:.1f} GiB")
    if state.tasks is not None and state.task_limit and state.tasks > settings.task_ceiling * state.task_limit:
        return (f"task ceiling: {state.tasks} tasks on the machine, over {settings.task_ceiling:.0%} of the limit "
                f"{state.task_limit}")
    if state.maps is not None and state.map_limit and state.maps > settings.map_ceiling * state.map_limit:
        return (f"map ceiling: the harness holds {state.maps} memory mappings, over {settings.map_ceiling:.0%} of "
                f"vm.max_map_count {state.map_limit}")
    if elapsed_s >= settings.budget_s:
        return f"time budget: {settings.budget_s:g} s spent"
    return None


@dataclass(frozen=True)
class Progress:
    """What the sweep has seen so far, from which the next rung is planned."""

    n_now: int
    elapsed_s: float
    start_s_per_instance: float  # each new instance took this long to start
    last_read_s: float  # reading memory at n_now took this long (it grows with N)
    available_bytes: float | None = None  # MemAvailable now
    drop_per_instance: float | None = None  # MemAvailable fell by this much per instance


def plan_next_rung(seen: Progress, n_next: int, settings: DensitySettings, floor_bytes: float | None = None,
                   min_growth: float = 1.25) -> tuple[int, str | None]:
    """How far to grow next: (target N, reason the sweep stops after it, or None).

    The next rung is predicted from what the sweep has seen. A rung that does
    not fit in the time left or above the memory floor is cut to what fits; if
    that is less than min_growth x n_now, the sweep stops at n_now."""
    n_now = seen.n_now
    read_per_instance = seen.last_read_s / n_now if n_now else 0.0
    remaining = settings.budget_s - seen.elapsed_s - settings.settle_s
    need = (n_next - n_now) * seen.start_s_per_instance + read_per_instance * n_next
    target, reasons = n_next, []
    if need > remaining:
        per = seen.start_s_per_instance + read_per_instance
        fits = int((remaining + n_now * seen.start_s_per_instance) / per) if per > 0 else n_next
        target = min(target, fits)
        reasons.append(f"time budget: {settings.budget_s:g} s; N = {n_next} would need about {need:.0f} s more, "
                       f"{max(remaining, 0):.0f} s were left")
    drop = seen.drop_per_instance
    if seen.available_bytes is not None and floor_bytes is not None and drop and drop > 0:
        room = seen.available_bytes - floor_bytes
        if (n_next - n_now) * drop > room:
            target = min(target, n_now + int(max(room, 0) / drop))
            reasons.append(f"memory floor: N = {n_next} would bring MemAvailable below "
                           f"{floor_bytes / GIB:.1f} GiB (about {drop / MIB:.1f} MiB per instance)")
    if not reasons:
        return n_next, None
    reason = "; ".join(reasons)
    if target < max(n_now + 1, n_now * min_growth):
        return n_now, reason
    return target, f"{reason} (last rung cut to N = {target})"


# -- the sweep ------------------------------------------------------------


@dataclass(frozen=True)
class Hooks:
    """What a density sweep reads and reports through (tests give fakes)."""

    advance: Callable[..., None] = lambda amount=1: None  # progress
    machine: Callable[[], MachineState] = machine_state
    clock: Callable[[], float] = time.monotonic


def density_sweep(backend: Backend, worker: Worker, settings: DensitySettings, trial: int = 0,
                  hooks: Hooks = Hooks()) -> dict:
    """Hold more and more instances alive at once and read memory at each rung.
    Returns a DensitySweep's JSON."""
    advance, machine, clock = hooks.advance, hooks.machine, hooks.clock
    ladder = sorted(set(int(n) for n in settings.counts))
    release_freed_memory()
    baseline = {figure.kind: figure.bytes for figure in backend.memory_baseline()}
    first = machine()
    floor_bytes = settings.memory_floor * first.total
    instances: list[Instance] = []
    steps: list[dict] = []
    scopes: dict[str, str] = {}
    stopped: str | None = None
    start_s = last_read_s = 0.0
    began = clock()
    try:
        for n_next in ladder:
            n_now = len(instances)
            then = None
            if steps:
                state = machine()
                seen = Progress(n_now, clock() - began, start_s / n_now, last_read_s, state.available,
                                (first.available - state.available) / n_now if n_now else None)
                target, then = plan_next_rung(seen, n_next, settings, floor_bytes)
                if target <= n_now:
                    stopped = then
                    break
            else:
                target = n_next
            while len(instances) < target and stopped is None:
                started = clock()
                try:
                    instance, _, _ = cold_start(backend, worker, ARG)
                except Exception as error:  # any failure to grow is a finding, not a crash
                    stopped = f"error at N = {len(instances) + 1}: {one_line(error)}"
                    break
                start_s += clock() - started
                instances.append(instance)
                advance()
                stopped = limit_reached(machine(), settings, clock() - began)
            if instances and (not steps or steps[-1]["n"] < len(instances)):
                try:
                    step, step_scopes = _read(backend, instances, baseline, settings.settle_s, clock)
                except Exception as error:
                    stopped = stopped or f"error reading memory at N = {len(instances)}: {one_line(error)}"
                    break
                step["elapsed_s"] = clock() - began
                step["mem_available_bytes"] = machine().available
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
        "trial": trial,
        "instance_class": backend.instance_class,
        "ladder": ladder,
        "budget_s": settings.budget_s,
        "memory_floor": settings.memory_floor,
        "task_ceiling": settings.task_ceiling,
        "settle_s": settings.settle_s,
        "steps": steps,
        "baseline_bytes": baseline,
        "scopes": scopes,
        "stopped_because": stopped or LADDER_COMPLETE,
        "stopped_early": stopped is not None,
        "growth_s": growth_s,
        "start_s_per_instance": start_s / len(instances) if instances else None,
        "teardown_s": teardown_s,
        "machine_at_start": first.to_json(),
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
