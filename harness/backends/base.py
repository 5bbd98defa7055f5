"""The Backend interface: one isolation technology that can host the worker."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from dataclasses import dataclass, field

from harness.results.vocabulary import PER_CALLER, SHARED  # noqa: F401  (re-exported for backends)
from harness.runtime.worker import Worker


class BackendError(Exception):
    """A backend failed while running; the message is one line."""


class BackendUnavailable(BackendError):
    """The backend cannot run on this machine; the message says why."""


class WorkerLoadError(BackendError):
    """The engine rejected the worker bundle (syntax error, missing handler...)."""


class LimitExceeded(BackendError):
    """A call broke one of the instance's Limits; the instance is stopped."""


class CallTimeout(LimitExceeded):
    """A call ran past Limits.call_timeout_s (wall) or Limits.cpu_time_s."""


class MemoryLimitExceeded(LimitExceeded):
    """The instance went past Limits.memory_bytes."""


class InstanceCrashed(BackendError):
    """The instance died during a call (its process exited, its container stopped)."""


@dataclass(frozen=True)
class Limits:
    """The same limits for every backend, each enforced by its own mechanism
    (py_mini_racer timeout/max_memory, rlimits or a kill, docker --memory ...).
    None means no limit beyond the harness's own safety timeout."""

    call_timeout_s: float | None = 30.0  # wall time per call
    memory_bytes: int | None = None  # per instance
    cpu_time_s: float | None = None  # CPU time per call, where the backend can tell
    max_pids: int | None = None  # processes/threads per instance, where the backend can cap them
    cpus: float | None = None  # CPU share per instance (containers: --cpus), where the backend can cap it


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str = ""


@dataclass
class PhaseClock:
    """Marks the end of each start-up phase on one monotonic clock.

    `phases` maps a phase name to its duration in milliseconds, in order.
    """

    started_ns: int = field(default_factory=time.perf_counter_ns)
    phases: dict[str, float] = field(default_factory=dict)
    _last_ns: int = 0

    def mark(self, phase: str) -> None:
        now = time.perf_counter_ns()
        previous = self._last_ns or self.started_ns
        self.phases[phase] = (now - previous) / 1e6
        self._last_ns = now

    @property
    def total_ms(self) -> float:
        return sum(self.phases.values())


@dataclass
class MemoryFigure:
    """One memory figure for a set of live instances.

    kind names what is counted (uss, pss, rss, cgroup, shim_pss, docker_stats,
    v8_heap); scope says whose memory it is, in words.
    """

    kind: str
    bytes: float
    scope: str


class Instance(ABC):
    """One live, loaded copy of the worker."""

    _live: set | None = None  # the backend's set of live instances

    def track(self, live: set) -> None:
        self._live = live
        live.add(self)

    @abstractmethod
    def call(self, arg: str) -> str:
        """Call the worker's handler once and return its answer."""

    @abstractmethod
    def ping(self) -> None:
        """One round trip through the transport, without calling the handler."""

    @abstractmethod
    def engine_time(self, arg: str, min_ms: float) -> dict:
        """In-engine time per handler call, measured by a JS clock in the instance
        (the prelude's `engineTime`: handler_ns, loop_ns, calls, clock, clock_resolution_ns)."""

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the instance's own processes or cgroup have
        used since it was requested, outside the harness process; None when it
        runs inside the harness (its CPU time is then the harness's own)."""
        return None

    def stop(self) -> None:
        """Release everything the instance holds. Safe to call twice."""
        try:
            self._release()
        finally:
            if self._live is not None:
                self._live.discard(self)

    @abstractmethod
    def _release(self) -> None:
        """Free the instance's process, container or isolate."""


class Backend(ABC):
    """Start instances of a worker, measure them, stop them.

    Every member a caller may use is written here. A new backend is one module
    with a subclass that sets the class attributes below and implements the
    abstract methods, plus one line in the registry (harness/backends/__init__.py).
    """

    name: str = ""
    summary: str = ""  # what one instance is, in a line
    described_as: str = ""  # how a sentence names one instance: "a V8 isolate", "a Docker container"
    # Which family the reports group it in (harness.results.vocabulary.FAMILIES):
    # in-process, process, container, sandboxed-container.
    family: str = ""
    # What one instance is, for the memory it is counted in and the density
    # ladder: "in-process" (growth of the harness's USS), "process" (PSS of its
    # process tree) or "container" (memory cgroup + what keeps it outside).
    instance_class: str = ""
    # Ratios are every other backend over the one backend that sets this.
    reference: bool = False
    # What it stands for in published figures (harness.results.vocabulary.ROLES).
    roles: tuple[str, ...] = ()
    # The backend this one is a variant of (the same instance, one thing
    # changed, as `summary` says); reports set the two side by side.
    variant_of: str = ""
    # How the backend can serve concurrent callers (threads of the harness):
    # PER_CALLER if calls on different instances may overlap, SHARED if one
    # instance accepts overlapping calls itself. Empty: not measured.
    concurrency_modes: tuple[str, ...] = ()
    # What a cold start's CPU time counts for this backend (see cpu_seconds).
    cpu_scope: str = "the harness process, all threads"
    # The globals of harness/runtime/api_surface.CANDIDATES its engine exposes
    # to a handler-form worker (a module worker also gets api_surface.WORKERS_API);
    # checked against the engine by tests/test_backend_contract.py.
    host_globals: frozenset[str] = frozenset()
    # Command-line parts of the processes this backend starts, for the
    # last-resort cleanup of a run that died (harness/measure/cleanup.py).
    runner_marks: tuple[str, ...] = ()

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()  # enforced on every instance (hostile workers)
        self.live: set[Instance] = set()  # instances started and not yet stopped

    @classmethod
    def from_options(cls, options) -> "Backend":
        """A backend configured from the run's BackendOptions (harness/backends/__init__.py)."""
        return cls(limits=options.limits)

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        """Remove what a run with this id left behind (containers, bundles,
        cgroups) after a crash; one line per thing removed."""
        return []

    @abstractmethod
    def availability(self) -> Availability:
        """Whether this backend can run here, and if not, why."""

    def prepare(self, worker: Worker) -> None:
        """One-time, untimed preparation (build an image, warm caches)."""

    @abstractmethod
    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        """Make a fresh instance with the worker loaded, marking phases on clock."""

    @abstractmethod
    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        """Memory held by exactly these live instances, by kind."""

    def memory_baseline(self) -> list[MemoryFigure]:
        """Memory figures with no instance alive, subtracted from memory()."""
        return []

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of the engine, runtime and tools this backend uses."""

    def transport(self) -> str:
        """How the harness talks to an instance, in words."""
        return ""

    def shared_cpu_seconds(self) -> float | None:
        """CPU time used so far by daemons every instance goes through
        (dockerd, containerd), read before and after a cold start; None: none."""
        return None

    def first_instance_probe(self, worker: Worker, arg: str) -> dict | None:
        """Time the first instance of a fresh process, for backends whose first
        instance costs more (loading the engine library, starting V8's
        platform): {total_ms, phases_ms, uss_growth_bytes}. None: no such cost."""
        return None

    def facts(self) -> dict:
        """Backend-specific facts measured outside the rounds (a one-time
        module compile, a warm pool's size and standing memory), read at the
        end of each trial and recorded as isobench.backends.<name>.facts."""
        return {}

    def close(self) -> None:
        """Stop every instance this backend started and free shared resources."""
        for instance in list(self.live):
            instance.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


SCRATCH_PREFIX = "isobench-"


def scratch_folder(kind: str) -> Path:
    """A temporary folder of this process, `isobench-<kind>-<pid>-*`, so that
    remove_orphan_scratch finds it if the process is killed before it can
    remove it (a trial process killed by the manager, say)."""
    return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}-{os.getpid()}-"))


def remove_orphan_scratch(kind: str) -> list[str]:
    """Remove the scratch folders of this kind whose process is gone; one line if any."""
    import psutil

    removed = 0
    prefix = f"{SCRATCH_PREFIX}{kind}-"
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = path.name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or psutil.pid_exists(int(pid)) or not path.is_dir():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return [f"{removed} {kind} scratch folder(s)"] if removed else []
