"""Facts about the machine and the checkout, recorded with every run."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from harness.paths import REPO_ROOT


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
