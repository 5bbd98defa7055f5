"""CPU probes: on-CPU time (user + system) of processes, process trees,
reaped children, cgroups and named daemons, in seconds.

Sources and their resolution:

- a process: its CPU-time clock, clock_gettime() on the pid's
  CPUCLOCK_SCHED clock (what clock_getcpuclockid(3) returns): the
  scheduler's sum_exec_runtime in nanoseconds over every thread, exited
  ones included, brought up to date for a thread that is running right now.
  Where that clock cannot be read, the sum over
  /proc/PID/task/*/schedstat (first field, the same ns counter per live
  thread). schedstat alone falls short twice: it lacks exited threads, and
  for a thread that is on a CPU it is only as fresh as the last scheduler
  tick or switch (measured here: a node process read 0.2 ms where the clock
  read 3.5 ms, right after it answered). Where schedstat is missing too
  (no CONFIG_SCHED_INFO), utime + stime of /proc/PID/stat, in clock ticks
  (1/CLK_TCK s, 10 ms here). Reading the clock costs about a microsecond.
- reaped children: cutime + cstime of /proc/PID/stat, in clock ticks (1/CLK_TCK
  s): the CPU of every child the process has waited for, including what those
  children had themselves collected from theirs. Children reaped
  automatically (SIGCHLD ignored) are not in it.
- a cgroup: cgroup v1 cpuacct.usage (ns, every task that ever ran in the
  cgroup or below it, exited ones included), or cgroup v2 cpu.stat usage_usec.
  A hybrid host (v1 controllers plus a cgroup2 mount) uses cpuacct.

A pid or thread that has vanished counts zero: these probes never raise for
a process that exited between listing and reading.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.backends.memory_probes import _mountpoints

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
SCHEDSTAT_AVAILABLE = Path("/proc/self/schedstat").exists()
DOCKER_DAEMONS = ("dockerd", "containerd")
_CPUCLOCK_SCHED = 2  # linux/posix-timers.h: the process clock that counts sum_exec_runtime


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as file:
            return file.read().decode()
    except OSError:  # vanished (ENOENT, ESRCH) or unreadable
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name, so that fields[0] is the state (field 3)."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    return text.rpartition(")")[2].split()


def _ticks(fields: list[str], first: int) -> float:
    """Two consecutive tick fields (utime+stime, cutime+cstime) in seconds; first is the 1-based field number."""
    index = first - 3
    return (int(fields[index]) + int(fields[index + 1])) / CLOCK_TICKS_PER_S


def process_clock_id(pid: int) -> int:
    """clock_getcpuclockid(pid): the clock id of a process's CPU time (Linux's MAKE_PROCESS_CPUCLOCK)."""
    return ((~pid) << 3) | _CPUCLOCK_SCHED


def clock_cpu_seconds(pid: int) -> float | None:
    """The process's CPU-time clock (all threads, exited ones included, ns);
    None if it cannot be read (the process is gone, or no such clock here)."""
    try:
        return time.clock_gettime_ns(process_clock_id(pid)) / 1e9
    except (OSError, OverflowError):
        return None


def stat_cpu_seconds(pid: int) -> float:
    """utime + stime of /proc/PID/stat: every thread of the process, exited ones
    included, at clock-tick resolution (1/CLK_TCK s). 0 if the process is gone."""
    fields = _stat_fields(pid)
    return _ticks(fields, 14) if fields else 0.0


def threads_cpu_seconds(pid: int) -> float:
    """Sum of schedstat's sum_exec_runtime (ns) over the process's live threads
    (as fresh as each thread's last tick or switch). 0 if the process is gone;
    a thread that exits meanwhile counts zero."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    total_ns = 0
    for tid in tids:
        text = _read(f"/proc/{pid}/task/{tid}/schedstat")
        if text:
            total_ns += int(text.split()[0])
    return total_ns / 1e9


def process_cpu_seconds(pid: int) -> float:
    """On-CPU time of one process summed over all its threads, in seconds, with
    nanosecond precision: the process's CPU-time clock; else the schedstat
    sum over its live threads (or the /proc/PID/stat tick figure when that is
    larger, i.e. threads have exited); where schedstat is missing, utime +
    stime from /proc/PID/stat in clock ticks. A vanished process counts 0."""
    clock = clock_cpu_seconds(pid)
    if clock is not None:
        return clock
    ticks = stat_cpu_seconds(pid)
    if not SCHEDSTAT_AVAILABLE:
        return ticks
    return max(threads_cpu_seconds(pid), ticks)


class ProcessCpuClock:
    """One process's CPU-time clock with its id worked out ahead: a read is a
    single clock_gettime (a few microseconds even with cold caches), cheap
    enough inside a timed region. Falls back to process_cpu_seconds."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.clock_id = process_clock_id(pid)

    def seconds(self) -> float:
        try:
            return time.clock_gettime_ns(self.clock_id) / 1e9
        except (OSError, OverflowError):
            return process_cpu_seconds(self.pid)


def reaped_children_cpu_seconds(pid: int) -> float:
    """cutime + cstime of /proc/PID/stat: CPU of the children the process has
    waited for (and of what they reaped), in seconds at clock-tick resolution
    (1/CLK_TCK s, 10 ms here). 0 if the process is gone."""
    fields = _stat_fields(pid)
    return _ticks(fields, 16) if fields else 0.0


def _tree(pid: int) -> list[int]:
    """pid and all its live descendants (psutil); [] if pid is gone."""
    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.Error:
        return []


def process_tree_cpu_seconds(pid: int, reaped: bool = False) -> float:
    """process_cpu_seconds summed over a process and all its live descendants;
    with reaped=True, plus every member's reaped children (the descendants
    that have already exited and been waited for). Vanished ones count 0."""
    total = 0.0
    for member in _tree(pid):
        total += process_cpu_seconds(member)
        if reaped:
            total += reaped_children_cpu_seconds(member)
    return total


@dataclass(frozen=True)
class ProcessCpuReading:
    """One process's CPU at one moment, to count a later reading from."""

    own_s: float  # process_cpu_seconds
    reaped_s: float  # reaped_children_cpu_seconds


def read_process_cpu(pid: int) -> ProcessCpuReading:
    return ProcessCpuReading(process_cpu_seconds(pid), reaped_children_cpu_seconds(pid))


def process_tree_cpu_seconds_since(pid: int, earlier: ProcessCpuReading) -> float:
    """CPU a process tree used after `earlier` (a reading of its root): the
    root's growth and that of the children it reaped, plus all of its live
    descendants' CPU and reaped children (a process taken from a pool has no
    descendants before). 0 if the root is gone."""
    members = _tree(pid)
    if not members:
        return 0.0
    now = read_process_cpu(pid)
    descendants = sum(process_cpu_seconds(member) + reaped_children_cpu_seconds(member) for member in members[1:])
    return max(0.0, now.own_s - earlier.own_s) + max(0.0, now.reaped_s - earlier.reaped_s) + descendants


@dataclass(frozen=True)
class CpuCgroup:
    """The cgroup that accounts a process's CPU: its path inside the hierarchy
    (as /proc/PID/cgroup writes it) and the file that holds its usage."""

    version: int  # 1: cpuacct.usage (ns); 2: cpu.stat usage_usec
    path: str
    usage_file: Path

    def seconds(self) -> float:
        """Usage so far; 0 once the cgroup has been removed."""
        text = _read(str(self.usage_file))
        if text is None:
            return 0.0
        if self.version == 1:
            return int(text) / 1e9
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1e6
        return 0.0

    @property
    def source(self) -> str:
        return f"cgroup v{self.version} {self.usage_file}"


def cpu_cgroup(pid: int) -> CpuCgroup | None:
    """Where pid's CPU is accounted: the cpuacct hierarchy's cgroup (v1, also
    on a hybrid host), else the cgroup2 one. None if pid is gone or neither
    is mounted. Mount points come from /proc/self/mountinfo, as for memory."""
    text = _read(f"/proc/{pid}/cgroup")
    if text is None:
        return None
    mounts = _mountpoints()
    unified_path = None
    for line in text.splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(",") and "cpuacct" in mounts:
            usage = Path(mounts["cpuacct"] + path) / "cpuacct.usage"
            if usage.exists():
                return CpuCgroup(1, path, usage)
        if hierarchy == "0" and controllers == "":
            unified_path = path
    if unified_path is not None and "cgroup2" in mounts:
        stat = Path(mounts["cgroup2"] + unified_path) / "cpu.stat"
        if stat.exists():
            return CpuCgroup(2, unified_path, stat)
    return None


@dataclass(frozen=True)
class CgroupCpu:
    seconds: float
    source: str  # which file the figure comes from


def cgroup_cpu_of_pid(pid: int) -> CgroupCpu:
    """CPU used so far by the cgroup that holds pid (see cpu_cgroup)."""
    cgroup = cpu_cgroup(pid)
    if cgroup is None:
        raise FileNotFoundError(f"no CPU-accounting cgroup found for pid {pid}")
    return CgroupCpu(cgroup.seconds(), cgroup.source)


@dataclass(frozen=True)
class ContainerCpu:
    """A container's CPU: its cgroup, plus what runs outside it under the
    process that keeps it (containerd-shim, or a foreground `runc run`)."""

    cgroup_s: float  # the container's cgroup, exited tasks included
    outside_s: float  # live processes in the keeper's tree outside that cgroup (their threads)
    reaped_s: float  # the children those outside processes have reaped (clock ticks)
    source: str

    @property
    def total_s(self) -> float:
        return self.cgroup_s + self.outside_s + self.reaped_s


def container_cpu(container_pid: int, keeper_pid: int) -> ContainerCpu | None:
    """CPU of a container whose process container_pid runs under keeper_pid.

    Counted once each: the container's cgroup (every process that ran in it);
    every live process in the keeper's tree whose cgroup is another one (the
    keeper itself; a gVisor gofer would be, but runsc starts it inside), by
    its CPU clock; and the children those outside processes reaped (runc
    create/start, runsc create/start, hooks). Live processes inside the
    cgroup are not added again. What stays counted twice is a process that
    ran partly inside the cgroup and was then reaped by an outside one,
    measured here by polling the cgroup's tasks: runc's runc:[0:PARENT]
    bootstrap stage (about 3 ms, reaped by runc create or `runc run`), and
    runsc create for the moment it joins the cgroup to start the gofer and
    the sandbox (about 4 ms of its 30). crun leaves nothing of the kind.

    If the container has no cgroup of its own (same as the keeper's), the
    keeper's whole tree and its reaped children are counted instead.
    None if the container's process is gone.
    """
    cgroup = cpu_cgroup(container_pid)
    if cgroup is None:
        return None
    keeper_cgroup = cpu_cgroup(keeper_pid)
    if keeper_cgroup is not None and keeper_cgroup.path == cgroup.path:
        tree = process_tree_cpu_seconds(keeper_pid, reaped=True)
        return ContainerCpu(0.0, tree, 0.0, "the keeper's process tree and reaped children (no cgroup of its own)")
    outside = reaped = 0.0
    for member in _tree(keeper_pid):
        where = cpu_cgroup(member)
        if where is None or where.path == cgroup.path:
            continue
        outside += process_cpu_seconds(member)
        reaped += reaped_children_cpu_seconds(member)
    return ContainerCpu(cgroup.seconds(), outside, reaped, cgroup.source)


def keeper_of(pid: int, name_part: str = "shim") -> int | None:
    """The nearest ancestor of pid whose name contains name_part (containerd-shim)."""
    try:
        for ancestor in psutil.Process(pid).parents():
            if name_part in ancestor.name():
                return ancestor.pid
    except psutil.Error:
        pass
    return None


def find_processes(names: tuple[str, ...]) -> list[int]:
    """Pids of the processes whose name (comm) is one of names."""
    found = []
    for process in psutil.process_iter(["name"]):
        if process.info.get("name") in names:
            found.append(process.pid)
    return sorted(found)


class DaemonCpu:
    """CPU used so far by named daemons (dockerd, containerd): every thread, plus
    the children they reaped (dockerd's own re-exec helpers such as
    `dockerd set-ipv6`, containerd's `containerd-shim-runc-v2 start`). The pids
    are found by name once and again when one of them has gone."""

    def __init__(self, names: tuple[str, ...] = DOCKER_DAEMONS) -> None:
        self.names = names
        self._pids: list[tuple[int, str]] = []

    def _current(self) -> list[int]:
        alive = all((_read(f"/proc/{pid}/comm") or "").strip() == name for pid, name in self._pids)
        if not self._pids or not alive:
            self._pids = [(pid, (_read(f"/proc/{pid}/comm") or "").strip()) for pid in find_processes(self.names)]
        return [pid for pid, _ in self._pids]

    def seconds(self) -> float | None:
        """None when none of the daemons runs on this machine (a remote engine)."""
        pids = self._current()
        if not pids:
            return None
        return sum(process_cpu_seconds(pid) + reaped_children_cpu_seconds(pid) for pid in pids)
