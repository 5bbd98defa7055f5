"""The conditions of a run: the environment children get, CPU pinning, and
the machine metadata recorded with the results."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Children start with only these variables (as pyperf does). The host's own
# environment can slow node down: NODE_EXTRA_CA_CERTS alone adds ~47 ms to
# every node start here, and containers never see it.
CHILD_ENV_BASE = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def child_environment(inherit: tuple[str, ...] = ()) -> dict[str, str]:
    env = dict(CHILD_ENV_BASE)
    for name in inherit:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def describe_child_environment(inherit: tuple[str, ...] = ()) -> dict:
    env = child_environment(inherit)
    dropped = sorted(set(os.environ) - set(env))
    return {"variables": env, "inherited": list(inherit), "dropped_names": dropped}


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


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_info() -> dict:
    return {
        "commit": _git("rev-parse", "HEAD"),
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def timer_overhead_ns(samples: int = 20001) -> dict:
    """What the harness's timer costs: two back-to-back perf_counter_ns reads."""
    clock = time.perf_counter_ns
    deltas = []
    for _ in range(samples):
        start = clock()
        deltas.append(clock() - start)
    deltas.sort()
    info = time.get_clock_info("perf_counter")
    return {
        "timer": "time.perf_counter",
        "implementation": info.implementation,
        "resolution_ns": info.resolution * 1e9,
        "read_overhead_median_ns": deltas[len(deltas) // 2],
    }


def machine_info() -> dict:
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "load_average": list(os.getloadavg()),
        "memory_total_bytes": _memory_total(),
        "git": git_info(),
        "hostname": platform.node(),
    }


def _memory_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
