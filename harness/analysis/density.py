"""Density, as pure functions: which memory counts for a kind of instance, the
marginal memory per instance and "instances per GiB" with its curve, and the
decisions that stop a density sweep early (time budget, memory floor, task
ceiling). harness/measure_density.py does the measuring."""

from __future__ import annotations

from typing import Sequence

from harness.analysis.stats import marginal_slope

GIB = float(1 << 30)
MIB = float(1 << 20)
LADDER_COMPLETE = "ladder complete"

# Memory counted per instance class: the kinds summed, and the fallbacks if a
# backend does not report them.
HEADLINE_KINDS = {
    "in-process": (("uss",), ("pss",)),  # growth of the harness process: all of it is the instances'
    "process": (("pss",), ("uss",)),  # shared pages split among the processes that map them
    # the cgroup, plus what keeps the container outside it: containerd-shim,
    # or the foreground `runc/crun run` process without dockerd (oci-*)
    "container": (("cgroup", "shim_pss"), ("cgroup", "runtime_pss"), ("cgroup",), ("pss",)),
}
MEMORY_KIND_MEANING = {
    "uss": "growth of the harness process's unique set size (private pages)",
    "pss": "proportional set size of the instances' process trees (shared pages split)",
    "cgroup": "the containers' memory cgroups",
    "cgroup+shim_pss": "the containers' memory cgroups plus their containerd-shims' PSS",
    "cgroup+runtime_pss": "the containers' memory cgroups plus the PSS of their foreground runtime processes",
}

# Name prefixes for backends that do not declare Backend.instance_class.
_CLASS_BY_PREFIX = (("isolate", "in-process"), ("wasm", "in-process"), ("container", "container"),
                    ("oci-", "container"))


def instance_class(name: str, declared: str | None = None) -> str:
    """What one instance of backend `name` is: in-process, process or container."""
    if declared:
        return declared
    for prefix, kind in _CLASS_BY_PREFIX:
        if name.startswith(prefix):
            return kind
    return "process"


def headline_kinds(klass: str, available: Sequence[str]) -> tuple[str, ...]:
    """The memory kinds whose sum is the density figure, among those reported."""
    for kinds in HEADLINE_KINDS.get(klass, HEADLINE_KINDS["process"]):
        if all(kind in available for kind in kinds):
            return kinds
    return ()


def kind_label(kinds: Sequence[str]) -> str:
    return "+".join(kinds)


def instances_per_gib(bytes_per_instance: float | None) -> float | None:
    """How many more instances one GiB holds; None when the growth is not positive."""
    if bytes_per_instance is None or bytes_per_instance <= 0:
        return None
    return GIB / bytes_per_instance


def density_curve(counts: Sequence[int], totals: Sequence[float]) -> list[dict]:
    """For each rung after the first: the marginal memory per added instance
    since the previous rung, and what it means in instances per GiB."""
    curve = []
    for (n0, t0), (n1, t1) in zip(zip(counts, totals), list(zip(counts, totals))[1:]):
        if n1 <= n0:
            continue
        marginal = (t1 - t0) / (n1 - n0)
        curve.append({"n": n1, "from_n": n0, "total_bytes": t1, "marginal_bytes": marginal,
                      "instances_per_gib": instances_per_gib(marginal)})
    return curve


def analyse(steps: Sequence[dict], klass: str) -> dict:
    """Instances per GiB from a sweep's steps ({"n", "total_bytes": {kind: growth}}).

    The headline is the marginal memory per instance: the least-squares growth
    per instance over the rungs with N >= 2 (a lone process owns pages a
    second one would share); with one such rung, the growth from the rung
    before it; with a single rung, the growth / N.
    """
    if not steps:
        return {"instances_per_gib": None, "memory_kind": "", "reason": "no memory reading"}
    kinds = headline_kinds(klass, list(steps[-1]["total_bytes"]))
    if not kinds:
        return {"instances_per_gib": None, "memory_kind": "", "reason": f"no memory figure fits a {klass} instance"}
    counts = [int(step["n"]) for step in steps]
    totals = [sum(float(step["total_bytes"][kind]) for kind in kinds) for step in steps]
    shared = [(n, t) for n, t in zip(counts, totals) if n >= 2]
    fit = marginal_slope([n for n, _ in shared], [t for _, t in shared])
    curve = density_curve(counts, totals)
    if fit is not None:
        per_instance, method = fit.per_unit, f"least-squares growth per instance over N = {', '.join(str(n) for n, _ in shared)}"
    elif curve:
        per_instance = curve[-1]["marginal_bytes"]
        method = f"growth from N = {curve[-1]['from_n']} to N = {curve[-1]['n']}, per added instance"
    else:
        per_instance, method = totals[-1] / counts[-1], f"growth / N at N = {counts[-1]} (one rung only)"
    label = kind_label(kinds)
    return {
        "instances_per_gib": instances_per_gib(per_instance),
        "bytes_per_instance": per_instance,
        "memory_kind": label,
        "memory_meaning": MEMORY_KIND_MEANING.get(label, label),
        "method": method,
        "counts": counts,
        "total_bytes": totals,
        "curve": curve,
    }


# -- stopping early -------------------------------------------------------


def limit_reached(elapsed_s: float, budget_s: float, available_bytes: float, total_bytes: float,
                  memory_floor: float, tasks: int | None = None, task_limit: int | None = None,
                  task_ceiling: float = 0.5, maps: int | None = None, map_limit: int | None = None,
                  map_ceiling: float = 0.75) -> str | None:
    """Why growing must stop now, or None. Checked after every new instance.

    maps: the harness process's memory mappings; past vm.max_map_count, mmap
    fails and V8 aborts the whole process (about 20 mappings per
    py_mini_racer isolate: some 3,200 isolates at the default 65,530)."""
    if available_bytes < memory_floor * total_bytes:
        return (f"memory floor: MemAvailable {available_bytes / GIB:.1f} GiB fell below "
                f"{memory_floor:.0%} of {total_bytes / GIB:.1f} GiB")
    if tasks is not None and task_limit and tasks > task_ceiling * task_limit:
        return f"task ceiling: {tasks} tasks on the machine, over {task_ceiling:.0%} of the limit {task_limit}"
    if maps is not None and map_limit and maps > map_ceiling * map_limit:
        return (f"map ceiling: the harness holds {maps} memory mappings, over {map_ceiling:.0%} of "
                f"vm.max_map_count {map_limit}")
    if elapsed_s >= budget_s:
        return f"time budget: {budget_s:g} s spent"
    return None


def plan_next_rung(n_now: int, n_next: int, elapsed_s: float, budget_s: float, start_s_per_instance: float,
                   last_read_s: float, settle_s: float, available_bytes: float | None = None,
                   floor_bytes: float | None = None, drop_per_instance: float | None = None,
                   min_growth: float = 1.25) -> tuple[int, str | None]:
    """How far to grow next: (target N, reason the sweep stops after it, or None).

    The next rung is predicted from what the sweep has seen: each new instance
    took start_s_per_instance, reading memory takes time in proportion to N
    (last_read_s at n_now), and MemAvailable fell by drop_per_instance per
    instance. A rung that does not fit is cut to what fits; if that is less
    than min_growth x n_now, the sweep stops at n_now (target == n_now).
    """
    read_per_instance = last_read_s / n_now if n_now else 0.0
    remaining = budget_s - elapsed_s - settle_s
    need = (n_next - n_now) * start_s_per_instance + read_per_instance * n_next
    target, reasons = n_next, []
    if need > remaining:
        per = start_s_per_instance + read_per_instance
        fits = int((remaining + n_now * start_s_per_instance) / per) if per > 0 else n_next
        target = min(target, fits)
        reasons.append(f"time budget: {budget_s:g} s; N = {n_next} would need about {need:.0f} s more, "
                       f"{max(remaining, 0):.0f} s were left")
    if available_bytes is not None and floor_bytes is not None and drop_per_instance and drop_per_instance > 0:
        room = available_bytes - floor_bytes
        if (n_next - n_now) * drop_per_instance > room:
            target = min(target, n_now + int(max(room, 0) / drop_per_instance))
            reasons.append(f"memory floor: N = {n_next} would bring MemAvailable below "
                           f"{floor_bytes / GIB:.1f} GiB (about {drop_per_instance / MIB:.1f} MiB per instance)")
    if not reasons:
        return n_next, None
    reason = "; ".join(reasons)
    if target < max(n_now + 1, n_now * min_growth):
        return n_now, reason
    return target, f"{reason} (last rung cut to N = {target})"


def summarize_density(sweep: dict) -> dict:
    """The summary's `density` entry from a density sweep's raw record (MiB = 2^20 bytes)."""
    figures = analyse(sweep.get("steps", []), sweep.get("instance_class", "process"))
    per_instance = figures.get("bytes_per_instance")
    marginals = {point["n"]: point for point in figures.get("curve", [])}
    curve = []
    for n, total in zip(figures.get("counts", []), figures.get("total_bytes", [])):
        point = marginals.get(n)
        curve.append({"n": n, "total_mb": total / MIB,
                      "marginal_mb": point["marginal_bytes"] / MIB if point else None,
                      "instances_per_gib": point["instances_per_gib"] if point else None})
    return {
        "instances_per_gib": figures["instances_per_gib"],
        "marginal_mb": per_instance / MIB if per_instance is not None else None,
        "memory_kind": figures["memory_kind"],
        "memory_meaning": figures.get("memory_meaning", figures.get("reason", "")),
        "method": figures.get("method", ""),
        "instance_class": sweep.get("instance_class"),
        "max_n_reached": sweep.get("max_n_reached", 0),
        "ladder": sweep.get("ladder", []),
        "stopped_because": sweep.get("stopped_because", ""),
        "stopped_early": bool(sweep.get("stopped_early")),
        "budget_s": sweep.get("budget_s"),
        "growth_s": sweep.get("growth_s"),
        "teardown_s": sweep.get("teardown_s"),
        "curve": curve,
    }
