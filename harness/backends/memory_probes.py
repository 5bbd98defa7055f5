"""Memory probes: process USS/PSS/RSS (psutil reads /proc/PID/smaps_rollup) and
cgroup memory (v1 memory.stat rss+cache, v2 memory.current).

RSS counts every shared page again in each process; PSS splits shared pages
among the processes that map them; USS is private memory, freed at exit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from dataclasses import dataclass
from pathlib import Path

import psutil


def _load_libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _load_libc()


def release_freed_memory() -> None:
    """Collect Python garbage and hand free malloc pages back to the kernel, so
    that this process's USS/PSS count live memory, not memory kept for reuse."""
    gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


@dataclass(frozen=True)
class ProcessMemory:
    rss: int
    pss: int
    uss: int

    def __add__(self, other: "ProcessMemory") -> "ProcessMemory":
        return ProcessMemory(self.rss + other.rss, self.pss + other.pss, self.uss + other.uss)


ZERO = ProcessMemory(0, 0, 0)


def process_memory(pid: int) -> ProcessMemory:
    """USS, PSS and RSS of one process, in bytes."""
    info = psutil.Process(pid).memory_full_info()
    return ProcessMemory(rss=info.rss, pss=info.pss, uss=info.uss)


def process_tree_memory(pid: int) -> ProcessMemory:
    """The sum over a process and all its descendants; vanished ones count zero."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return ZERO
    total = ZERO
    for member in members:
        try:
            total = total + process_memory(member.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


@dataclass(frozen=True)
class CgroupMemory:
    bytes: int
    source: str  # which file and fields the figure comes from


def _mountpoints() -> dict[str, str]:
    """cgroup v1 controller (or 'cgroup2') -> mount point."""
    mounts: dict[str, str] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if not extra:
            continue
        if extra[0] == "cgroup2":
            mounts.setdefault("cgroup2", fields[4])
        elif extra[0] == "cgroup":
            for option in extra[-1].split(","):
                mounts.setdefault(option, fields[4])
    return mounts


def cgroup_memory_of_pid(pid: int) -> CgroupMemory:
    """Memory charged to the cgroup that holds pid.

    cgroup v1: memory.stat `rss + cache` (memory.usage_in_bytes is fuzzy).
    cgroup v2: memory.current. A hybrid host uses the v1 memory controller.
    """
    mounts = _mountpoints()
    unified_path = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(",") and "memory" in mounts:
            stat_file = Path(mounts["memory"] + path) / "memory.stat"
            stats = _read_stat(stat_file)
            return CgroupMemory(stats["rss"] + stats["cache"], f"cgroup v1 {stat_file} rss+cache")
        if hierarchy == "0" and controllers == "":
            unified_path = path
    if unified_path is not None and "cgroup2" in mounts:
        current = Path(mounts["cgroup2"] + unified_path) / "memory.current"
        if current.exists():
            return CgroupMemory(int(current.read_text()), f"cgroup v2 {current}")
    raise FileNotFoundError(f"no memory cgroup found for pid {pid}")


def docker_stats_of_pid(pid: int) -> int:
    """What `docker stats` shows for the container holding pid, read from its
    cgroup as the engine computes it: usage minus inactive file pages (v1:
    memory.usage_in_bytes - total_inactive_file; v2: memory.current -
    inactive_file). The engine's own stats call waits about a second for a
    second CPU sample; memory needs none."""
    mounts = _mountpoints()
    unified_path = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(",") and "memory" in mounts:
            folder = Path(mounts["memory"] + path)
            usage = int((folder / "memory.usage_in_bytes").read_text())
            return max(0, usage - _read_stat(folder / "memory.stat").get("total_inactive_file", 0))
        if hierarchy == "0" and controllers == "":
            unified_path = path
    if unified_path is not None and "cgroup2" in mounts:
        folder = Path(mounts["cgroup2"] + unified_path)
        return max(0, int((folder / "memory.current").read_text()) - _read_stat(folder / "memory.stat").get("inactive_file", 0))
    raise FileNotFoundError(f"no memory cgroup found for pid {pid}")


def _read_stat(path: Path) -> dict[str, int]:
    stats = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        stats[key] = int(value)
    return stats
