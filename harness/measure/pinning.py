"""CPU pinning of the harness, its threads and children."""

from __future__ import annotations

import os


def pin_process(cpus: set[int]) -> None:
    """Pin every thread of this process; later threads and children inherit it."""
    allowed = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
    unknown = cpus - allowed
    if unknown:
        raise ValueError(f"CPU(s) {sorted(unknown)} do not exist here (have {sorted(allowed)})")
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except (ProcessLookupError, PermissionError):
            continue


def cpuset_string(cpus) -> str | None:
    return ",".join(str(cpu) for cpu in sorted(cpus)) if cpus else None
