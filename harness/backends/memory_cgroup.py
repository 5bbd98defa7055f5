"""A memory limit for one process tree through a cgroup v1 memory cgroup made
as a child of the harness's own (so the harness's own accounting still
covers it), as `docker run --memory` does for a container.

Used where RLIMIT_DATA cannot express the limit: workerd's V8 reserves its
code range as writable memory, so it will not start under an RLIMIT_DATA much
below 600 MiB although it touches far less. On a pure cgroup v2 host a child
cgroup needs the memory controller delegated to the harness's cgroup, which
this module does not try; `problem()` says so and the caller falls back.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from harness.backends.memory_probes import _mountpoints


def own_memory_cgroup() -> Path | None:
    """The v1 memory cgroup directory that holds this process, or None."""
    mounts = _mountpoints()
    if "memory" not in mounts:
        return None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path(mounts["memory"] + path)
    return None


def problem() -> str:
    """Why a child memory cgroup cannot be made here, or ''."""
    parent = own_memory_cgroup()
    if parent is None:
        return "no cgroup v1 memory controller holds this process"
    if not os.access(parent, os.W_OK):
        return f"cannot create cgroups under {parent}"
    return ""


class MemoryCgroup:
    """A child memory cgroup with memory (and memory+swap) capped at limit_bytes."""

    def __init__(self, limit_bytes: int, prefix: str = "isobench-") -> None:
        parent = own_memory_cgroup()
        if parent is None:
            raise OSError("no cgroup v1 memory controller holds this process")
        self.limit_bytes = limit_bytes
        self.path = parent / f"{prefix}{uuid.uuid4().hex[:12]}"
        self.path.mkdir()
        try:
            self._write("memory.limit_in_bytes", limit_bytes)
            if (self.path / "memory.memsw.limit_in_bytes").exists():
                self._write("memory.memsw.limit_in_bytes", limit_bytes)  # no escape into swap
            self._write("memory.move_charge_at_immigrate", 1, required=False)  # pages touched before add()
        except BaseException:
            self.remove()
            raise

    def _write(self, name: str, value: int, required: bool = True) -> None:
        try:
            (self.path / name).write_text(str(value))
        except OSError:
            if required:
                raise

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer acted in this cgroup (or it hit its limit)."""
        try:
            control = (self.path / "memory.oom_control").read_text()
            failures = int((self.path / "memory.failcnt").read_text())
        except (OSError, ValueError):
            return False
        kills = [int(line.split()[1]) for line in control.splitlines() if line.startswith("oom_kill ")]
        return bool(kills and kills[0] > 0) or "under_oom 1" in control or failures > 0

    def remove(self, wait_s: float = 2.0) -> None:
        """rmdir the cgroup once its processes are gone (they must be killed first)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return  # reported by leftovers(); never fatal here
                time.sleep(0.01)


def leftovers(prefix: str) -> list[str]:
    """Child cgroups of the harness's memory cgroup whose names start with prefix."""
    parent = own_memory_cgroup()
    if parent is None or not parent.is_dir():
        return []
    return sorted(str(entry) for entry in parent.iterdir() if entry.is_dir() and entry.name.startswith(prefix))
