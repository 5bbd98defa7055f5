"""The cgroups of oci-* containers: where they are, how to see a memory limit
hit (cgroup v1: an eventfd on memory.oom_control), and how to remove what a
killed runtime left behind."""

from __future__ import annotations

import os
from pathlib import Path

from harness.backends.memory_probes import _mountpoints


def cgroup_layout() -> str:
    """'v2' (unified), 'hybrid' (v1 controllers plus a cgroup2 mount) or 'v1'."""
    mounts = _mountpoints()
    if "memory" not in mounts and "cgroup2" in mounts:
        return "v2"
    return "hybrid" if "cgroup2" in mounts else "v1"


def memory_cgroup_dir(cgroups_path: str) -> Path | None:
    """The memory cgroup directory the runtime makes for cgroupsPath."""
    mounts = _mountpoints()
    root = mounts.get("memory") or mounts.get("cgroup2")
    return Path(root + cgroups_path) if root else None


def swap_accounting() -> bool:
    """Whether memory+swap can be limited (cgroup v1 memsw, or v2 memory.swap.max)."""
    mounts = _mountpoints()
    if "memory" in mounts:
        return Path(mounts["memory"], "memory.memsw.limit_in_bytes").exists()
    return "cgroup2" in mounts


def remove_cgroup(cgroups_path: str) -> list[str]:
    """rmdir cgroupsPath in every hierarchy where it still exists; returns those removed."""
    removed = []
    for root in sorted(set(_mountpoints().values())):
        directory = Path(root + cgroups_path)
        if directory.is_dir():
            try:
                directory.rmdir()
                removed.append(str(directory))
            except OSError:
                pass  # still has processes: the runtime's delete -f comes first
    return removed


def leftover_cgroups(prefix: str) -> list[str]:
    """Top-level cgroups whose name starts with prefix, in any hierarchy."""
    found = []
    for root in sorted(set(_mountpoints().values())):
        try:
            found += [str(Path(root, name)) for name in os.listdir(root) if name.startswith(prefix)]
        except OSError:
            continue
    return found


class OomWatch:
    """cgroup v1 OOM notification for one memory cgroup, as containerd does it:
    an eventfd registered in cgroup.event_control against memory.oom_control.
    The eventfd also fires once when the cgroup is removed, so a firing is an
    OOM only if memory.oom_control says under_oom 1 (with the OOM killer
    disabled the container stays frozen, and its cgroup stays, until killed)."""

    def __init__(self, cgroup_dir: Path) -> None:
        self.control_fd = os.open(cgroup_dir / "memory.oom_control", os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.event_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            with open(cgroup_dir / "cgroup.event_control", "w") as control:
                control.write(f"{self.event_fd} {self.control_fd}")
        except BaseException:
            os.close(self.control_fd)
            raise

    def fired(self) -> bool:
        """Drain the eventfd; True if the cgroup is now under OOM."""
        try:
            os.eventfd_read(self.event_fd)
        except BlockingIOError:
            return False
        try:
            text = os.pread(self.control_fd, 4096, 0).decode()
        except OSError:  # the cgroup is gone
            return False
        return "under_oom 1" in text

    def close(self) -> None:
        for fd in (self.event_fd, self.control_fd):
            try:
                os.close(fd)
            except OSError:
                pass
