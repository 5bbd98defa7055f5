"""`subprocess-prefork`: a warm pool of node processes made ahead of time, in
the spirit of SOCK's zygotes, so that a "cold" request is served by a
pre-made process.

What is pre-made: a node process that has started, run
harness/runtime/node_runner.js and sent its ready line -- the runtime, not the
worker. Taking an instance from the pool then loads the worker and calls it,
so the cold start is `take` + `load_worker` + `first_call`. A pool that serves
any worker is what a platform can keep; a pool per worker would also skip the
load (about a millisecond for hello).

Refill: synchronous, in Instance.stop(). When an instance is stopped the pool
is topped back up to its size, each new process is awaited until ready, and
then until its CPU time stops growing (node's start-up work on its helper
threads is over). In the bench that is the untimed teardown between rounds,
so a refill never overlaps a timed start on this 2-core machine; start() never
spawns unless the pool is empty (a miss, counted and phased as `spawn`).

The standing cost of the pool (its size, and the USS/PSS/RSS of its idle
processes) is measured in prepare() and reported by facts().

Limits: `call_timeout_s` as for the other runner backends (the call is
abandoned and the process killed); `memory_bytes` as for the subprocess
backend: RLIMIT_DATA set on each pooled process when it is made. It counts
the V8 heap, typed arrays and node's own ~40 MB alike, so no V8 heap flag is
added: at the same size, --max-old-space-size could never be reached first
(node aborts with "heap out of memory" or bad_alloc when RLIMIT_DATA stops a
heap of ~17 MB under a 64 MiB limit). Either is MemoryLimitExceeded.
"""

from __future__ import annotations

import subprocess
import time

import psutil

from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    Instance,
    InstanceCrashed,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
)
from harness.backends.cpu_probes import (
    ProcessCpuClock,
    ProcessCpuReading,
    process_tree_cpu_seconds,
    process_tree_cpu_seconds_since,
    read_process_cpu,
)
from harness.backends.ndjson import PipeChannel
from harness.backends.node_process import (
    NODE_GLOBALS,
    NODE_RUNNER,
    NodeProcessBackend,
    end_process,
    limit_data,
    out_of_memory,
)
from harness.backends.runner_limits import LimitedRunnerInstance
from harness.backends.memory_probes import process_tree_memory
from harness.runtime.worker import Worker

DEFAULT_POOL_SIZE = 4
SETTLE_POLL_S = 0.02  # how often a new process's CPU time (10 ms clock ticks) is read while it settles
SETTLE_QUIET_POLLS = 2  # quiet = this many polls in a row without CPU time growing
SETTLE_MAX_S = 1.0  # give up waiting for a new process to go quiet after this


class PooledInstance(LimitedRunnerInstance):
    def __init__(self, process: subprocess.Popen, timeout: float, limits: Limits, backend: "PreforkBackend") -> None:
        super().__init__(PipeChannel(process.stdin.fileno(), process.stdout.fileno()), timeout, limits)
        self.process = process
        self.backend = backend
        self._cpu_clock: ProcessCpuClock | None = None  # set when it joins the pool
        self.cpu_at_take: ProcessCpuReading | None = None  # None: spawned by start() (a miss)

    @property
    def pid(self) -> int:
        return self.process.pid

    def join_pool(self) -> None:
        """Untimed: the clock read at take, and the reaped children's CPU now
        (a /proc read of tens of microseconds; an idle process reaps nothing)."""
        self._cpu_clock = ProcessCpuClock(self.pid)
        self.cpu_at_take = read_process_cpu(self.pid)

    def mark_taken(self) -> None:
        """Its own CPU as it leaves the pool: one clock read (measured: +3 us on the take)."""
        if self._cpu_clock is not None and self.cpu_at_take is not None:
            self.cpu_at_take = ProcessCpuReading(self._cpu_clock.seconds(), self.cpu_at_take.reaped_s)

    def cpu_seconds(self) -> float:
        """Since it was taken from the pool; a miss counts from its spawn."""
        if self.cpu_at_take is None:
            return process_tree_cpu_seconds(self.pid, reaped=True)
        return process_tree_cpu_seconds_since(self.pid, self.cpu_at_take)

    def alive(self) -> bool:
        return self.process.poll() is None

    def death_cause(self) -> BackendError:
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return InstanceCrashed("the node process stopped answering")
        err = _read_stderr(self.process)
        if self.limits.memory_bytes is not None and out_of_memory(err):
            return MemoryLimitExceeded(f"node exited with {code}: out of memory under RLIMIT_DATA "
                                       f"{self.limits.memory_bytes} bytes")
        last = err.strip().splitlines()[-1:] if err.strip() else []
        return InstanceCrashed(f"node exited with {code}{': ' + last[0] if last else ''}")

    def kill(self) -> None:
        end_process(self.process)

    def _release(self) -> None:
        self.kill()
        self.backend.refill()


class PreforkBackend(Backend):
    name = "subprocess-prefork"
    host_globals = NODE_GLOBALS  # the node runner under node
    summary = ("a node process taken from a warm pool made ahead of time (runner ready, worker not "
               "loaded); the pool is refilled outside the timed region")
    described_as = "a node process from a warm pool"
    family = "process"
    instance_class = "process"
    roles = ("warm-process",)
    runner_marks = ("node_runner.js",)
    concurrency_modes = (PER_CALLER,)
    cpu_scope = ("the harness process, plus the pooled node process's CPU from the moment it is taken from the "
                 "pool (its CPU-time clock, all threads, ns): its start-up in the pool is not counted, as in the "
                 "wall time; a pool miss counts from spawn")

    def __init__(self, pool_size: int = DEFAULT_POOL_SIZE, inherit_env: tuple[str, ...] = (),
                 limits: Limits | None = None, timeout: float = 30.0) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        super().__init__(limits)
        self.plain = NodeProcessBackend(inherit_env=inherit_env, timeout=timeout)
        self.pool_size = pool_size
        self.timeout = timeout
        self.pool: list[PooledInstance] = []
        self.hits = self.misses = self.refills = self.unsettled_refills = 0
        self.idle_pool_memory: dict | None = None
        self._closed = False  # after close(), stopping an instance no longer refills

    @classmethod
    def from_options(cls, options) -> "PreforkBackend":
        return cls(inherit_env=options.inherit_env, limits=options.limits)

    def availability(self) -> Availability:
        return self.plain.availability()

    def _command(self) -> list[str]:
        return [self.plain.node, str(NODE_RUNNER)]

    def _spawn(self) -> PooledInstance:
        process = subprocess.Popen(
            self._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.plain.env, start_new_session=True,  # Ctrl-C reaches the harness, which cleans up
        )
        instance = PooledInstance(process, self.timeout, self.limits, self)
        try:
            limit_data(process, self.limits.memory_bytes)
        except BackendError:
            instance.kill()
            raise
        return instance

    def _await_ready(self, instance: PooledInstance) -> None:
        try:
            instance.await_ready()
        except BackendError as error:
            cause = instance.death_cause() if not instance.alive() else error
            instance.kill()
            raise BackendError(f"a pooled node process did not start: {cause}") from None

    def refill(self) -> None:
        """Top the pool up to its size; returns once every new process is ready
        and quiet. Called from Instance.stop(), outside any timed region."""
        if self._closed:
            return
        fresh = [self._spawn() for _ in range(self.pool_size - len(self.pool))]
        try:
            for instance in fresh:
                self._await_ready(instance)
        except BaseException:
            for instance in fresh:
                instance.kill()
            raise
        for instance in fresh:
            if not _settle(instance.pid):
                self.unsettled_refills += 1
            instance.join_pool()
        self.refills += len(fresh)
        self.pool.extend(fresh)

    def prepare(self, worker: Worker) -> None:
        self._closed = False
        self.refill()
        if self.idle_pool_memory is None:
            total = None
            for instance in self.pool:
                tree = process_tree_memory(instance.pid)
                total = tree if total is None else total + tree
            self.idle_pool_memory = {
                "processes": len(self.pool),
                "uss_bytes": total.uss, "pss_bytes": total.pss, "rss_bytes": total.rss,
                "scope": "sum over the idle pooled node process trees, read once in prepare()",
            }

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        instance = None
        while self.pool:
            candidate = self.pool.pop(0)  # the oldest: longest idle
            if candidate.alive():
                instance = candidate
                break
            candidate.kill()
        if instance is not None:
            instance.mark_taken()
            self.hits += 1
            instance.track(self.live)
            clock.mark("take")
        else:  # a miss: the pool is empty, so this start pays for the spawn
            self.misses += 1
            instance = self._spawn()
            instance.track(self.live)
            clock.mark("spawn")
            try:
                self._await_ready(instance)
            except BaseException:
                instance.stop()
                raise
            clock.mark("runtime_ready")
        try:
            instance.load(worker.bundle, worker.path.name)
        except BaseException:
            instance.stop()
            raise
        clock.mark("load_worker")
        return instance

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        # The taken instances only; the idle pool's standing cost is in facts().
        return self.plain.memory(instances)

    def versions(self) -> dict[str, str]:
        return {**self.plain.versions(), "pool_size": str(self.pool_size)}

    def facts(self) -> dict:
        return {
            "pool_size": self.pool_size,
            "preloaded": "runtime only: node started and node_runner.js ready; the worker is loaded on take",
            "refill": "synchronous in Instance.stop() (the bench's untimed teardown); each new process is "
                      "awaited until ready and until its CPU time stops growing, so refills never overlap "
                      "a timed start",
            "idle_pool_memory": self.idle_pool_memory,
            "hits": self.hits,
            "misses": self.misses,
            "refilled_processes": self.refills,
            "refills_not_quiet_within_s": {"count": self.unsettled_refills, "limit_s": SETTLE_MAX_S},
            "memory_limit": (f"RLIMIT_DATA {self.limits.memory_bytes} bytes via prlimit when a pooled "
                             "process is made" if self.limits.memory_bytes is not None else "none"),
        }

    def transport(self) -> str:
        return self.plain.transport()

    def close(self) -> None:
        self._closed = True
        try:
            super().close()
        finally:
            pool, self.pool = self.pool, []
            for instance in pool:
                instance.kill()


def _settle(pid: int) -> bool:
    """Wait until a process's CPU time stops growing; False if it never did."""
    deadline = time.monotonic() + SETTLE_MAX_S
    try:
        process = psutil.Process(pid)
        previous, quiet = sum(process.cpu_times()[:2]), 0
        while time.monotonic() < deadline:
            time.sleep(SETTLE_POLL_S)
            current = sum(process.cpu_times()[:2])
            quiet = quiet + 1 if current == previous else 0
            if quiet >= SETTLE_QUIET_POLLS:
                return True
            previous = current
    except psutil.Error:
        return True  # gone: nothing left to overlap with
    return False


def _read_stderr(process: subprocess.Popen) -> str:
    if process.stderr is None or process.stderr.closed:
        return ""
    try:
        return process.stderr.read(65536).decode(errors="replace")
    except (OSError, ValueError):
        return ""
