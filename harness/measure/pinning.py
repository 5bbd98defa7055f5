"""CPU pinning of the harness, its threads and children."""

from __future__ import annotations

import os


def parse_cpus(text: str) -> set[int]:
    """'0', '0,1', '0-3' -> a set of CPU numbers."""
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"bad CPU list {text!r}: expected e.g. 0 or 0,1 or 0-3") from None
        if first > last or first < 0:
            raise ValueError(f"bad CPU range {part!r} in {text!r}")
        cpus.update(range(first, last + 1))
    if not cpus:
        raise ValueError(f"bad CPU list {text!r}: empty")
    return cpus


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


def cpuset_string(cpus: set[int] | None) -> str | None:
    return ",".join(str(cpu) for cpu in sorted(cpus)) if cpus else None
