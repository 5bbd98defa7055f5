"""`subprocess`: a fresh node process per instance, spoken to over stdin/stdout.

Limits: a call past `call_timeout_s` (or `cpu_time_s`, as wall time) is a
read deadline on the pipe, then the process is killed: CallTimeout.
`memory_bytes` is the process's RLIMIT_DATA (its private writable memory,
node's own ~40 MB included), set with prlimit(2) right after spawn rather
than in a preexec_fn, which would push Popen off its vfork/posix_spawn fast
path for every cold start; the runner has not loaded the worker by then. Past
it node's allocations fail and it aborts ("JavaScript heap out of memory"):
MemoryLimitExceeded. RLIMIT_AS is not used: node reserves far more address
space than it touches and will not even start under a tight one. `max_pids`
is not enforced (RLIMIT_NPROC counts the whole user's processes, and root
ignores it).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    Instance,
    InstanceCrashed,
    LimitExceeded,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
)
from harness.backends import memory_cgroup
from harness.backends.cpu_probes import process_tree_cpu_seconds
from harness.backends.ndjson import PipeChannel
from harness.backends.runner_limits import LimitedRunnerInstance
from harness.backends.environment import child_environment
from harness.backends.fdwait import readable
from harness.backends.memory_probes import process_tree_memory
from harness.runtime.worker import RUNTIME_DIR, Worker

NODE_RUNNER = RUNTIME_DIR / "node_runner.js"


# The globals of api_surface.CANDIDATES node exposes to a worker (the runner
# runs it with vm's runInThisContext, in node's own global scope); every
# backend that runs the node runner under node declares these.
NODE_GLOBALS = frozenset({
    "crypto", "TextEncoder", "TextDecoder", "setTimeout", "setInterval", "clearTimeout", "clearInterval",
    "setImmediate", "queueMicrotask", "structuredClone", "atob", "btoa", "performance", "Buffer", "process",
    "global", "ReadableStream", "WritableStream", "TransformStream", "Blob", "FormData", "File",
    "AbortController", "AbortSignal", "EventTarget", "Event", "MessageChannel", "BroadcastChannel",
    "WebAssembly", "Intl", "SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry", "Headers",
    "URLSearchParams", "URL", "Request", "Response", "console", "fetch",
})

# What node prints when an allocation fails (V8's fatal OOM, or C++ new).
OUT_OF_MEMORY_SIGNS = ("out of memory", "bad_alloc", "allocation failed")


class NodeProcessInstance(LimitedRunnerInstance):
    def __init__(self, process: subprocess.Popen, timeout: float, limits: Limits | None = None,
                 runtime: str = "node") -> None:
        super().__init__(PipeChannel(process.stdin.fileno(), process.stdout.fileno()), timeout, limits)
        self.process = process
        self.runtime = runtime  # names the process in errors: node, deno, bun
        self.cgroup: memory_cgroup.MemoryCgroup | None = None  # the memory limit, where it is a cgroup

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """The node process tree since spawn: its threads and reaped children."""
        return process_tree_cpu_seconds(self.pid, reaped=True)

    def death_cause(self) -> BackendError:
        status = describe_status(self.process)
        err = stderr_tail(self.process)
        message = next((line.strip() for line in err.splitlines() if "error" in line.lower()), "")
        detail = f"{self.runtime} {status}" + (f": {message[:200]}" if message else "")
        if self.cgroup is not None and self.cgroup.oom_killed():
            return MemoryLimitExceeded(f"{detail} (memory cgroup limit {self.limits.memory_bytes} bytes)")
        if self.cgroup is None and self.limits.memory_bytes is not None and out_of_memory(err):
            return MemoryLimitExceeded(f"{detail} (RLIMIT_DATA {self.limits.memory_bytes} bytes)")
        return InstanceCrashed(detail)

    def _release(self) -> None:
        end_process(self.process)
        if self.cgroup is not None:
            self.cgroup.remove()


def remove_cgroups(runtime: str) -> list[str]:
    """Remove the memory cgroups a crashed run's instances of this runtime left (their processes gone)."""
    removed = 0
    for path in memory_cgroup.leftovers(f"isobench-{runtime}-"):
        try:
            Path(path).rmdir()
            removed += 1
        except OSError:
            pass
    return [f"{removed} {runtime} memory cgroup(s)"] if removed else []


def out_of_memory(stderr: str) -> bool:
    """Whether node's stderr says an allocation failed (RLIMIT_DATA reached)."""
    return any(sign in stderr.lower() for sign in OUT_OF_MEMORY_SIGNS)


def limit_data(process: subprocess.Popen, limit: int | None, runtime: str = "node") -> None:
    """RLIMIT_DATA (private writable memory) on a running process, via prlimit(2)."""
    if limit is None:
        return
    try:
        resource.prlimit(process.pid, resource.RLIMIT_DATA, (limit, limit))
    except OSError as error:
        raise BackendError(f"cannot set RLIMIT_DATA on {runtime} {process.pid}: {error}") from None


def describe_status(process: subprocess.Popen, wait_s: float = 2.0) -> str:
    """'exited with 3', 'killed by SIGABRT' or 'still running'."""
    try:
        code = process.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with {code}"


def stderr_tail(process: subprocess.Popen, wait_s: float = 1.0, keep: int = 8192) -> str:
    """The end of what the process wrote on stderr, without waiting past wait_s."""
    if process.stderr is None or process.stderr.closed:
        return ""
    fd, data = process.stderr.fileno(), b""
    while True:
        ready = readable([fd], wait_s)
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            return data.decode(errors="replace")
        data = (data + chunk)[-keep:]


def end_process(process: subprocess.Popen) -> None:
    """Kill a runner process (if still running), reap it and close its pipes."""
    if process.returncode is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass
        process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None and not stream.closed:
            stream.close()


class NodeProcessBackend(Backend):
    name = "subprocess"
    host_globals = NODE_GLOBALS
    summary = "a fresh node process per instance; NDJSON over stdin/stdout pipes"
    described_as = "a node process"
    family = "process"
    instance_class = "process"
    roles = ("node-process",)
    runner_marks = ("node_runner.js",)
    cpu_scope = ("the harness process, plus the node process tree since spawn: its CPU-time clock (all threads, ns) "
                 "and the children it reaped (clock ticks)")
    # Separate processes, separate pipes. The NDJSON protocol has no request
    # ids, so one instance serves one caller at a time.
    concurrency_modes = (PER_CALLER,)

    runtime = "node"  # the program that runs the runner; names it in errors and facts
    # Its memory limit as a memory cgroup per instance (memory_cgroup.py) where one can be made,
    # for runtimes that will not start under an RLIMIT_DATA of the limit's size; else RLIMIT_DATA.
    memory_limit_by_cgroup = False

    def __init__(self, node: str | None = None, inherit_env: tuple[str, ...] = (), timeout: float = 30.0,
                 limits: Limits | None = None):
        super().__init__(limits)
        self.node = node or self.default_program()
        self.env = child_environment(inherit_env)
        self.timeout = timeout
        # Decided once, not in every (timed) spawn: a memory cgroup per instance, or RLIMIT_DATA.
        self.uses_cgroup = (self.memory_limit_by_cgroup and self.limits.memory_bytes is not None
                            and not memory_cgroup.problem())

    @classmethod
    def default_program(cls) -> str:
        """The executable that runs the runner (node here; deno or bun in subclasses)."""
        return shutil.which("node") or "/usr/bin/node"

    def runner_command(self, worker: Worker | None = None) -> list[str]:
        """The command line of one instance's process (for this worker): the program and the NDJSON runner."""
        return [self.node, str(NODE_RUNNER)]

    def spawn_runner(self, worker: Worker | None = None) -> NodeProcessInstance:
        """A runner process, not yet ready, under the memory limit; stopped if the limit cannot be set."""
        process = subprocess.Popen(
            self.runner_command(worker),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            start_new_session=True,  # Ctrl-C reaches the harness, which cleans up
        )
        instance = NodeProcessInstance(process, self.timeout, self.limits, self.runtime)
        try:
            if self.uses_cgroup:
                try:  # the pages touched before add() move with the process (move_charge_at_immigrate)
                    instance.cgroup = memory_cgroup.MemoryCgroup(self.limits.memory_bytes, self.cgroup_prefix())
                    instance.cgroup.add(process.pid)
                except OSError as error:
                    raise BackendError(f"cannot put {self.runtime} {process.pid} in a memory cgroup: {error}") from None
            else:
                limit_data(process, self.limits.memory_bytes, self.runtime)
        except BackendError:
            instance.stop()
            raise
        return instance

    def cgroup_prefix(self) -> str:
        return f"isobench-{self.runtime}-"

    @classmethod
    def from_options(cls, options) -> "NodeProcessBackend":
        return cls(inherit_env=options.inherit_env, limits=options.limits)

    def availability(self) -> Availability:
        if not os.access(self.node, os.X_OK):
            return Availability(False, f"{self.runtime} not found at {self.node}{self.install_hint()}")
        try:
            subprocess.run([self.node, "--version"], capture_output=True, timeout=30, check=True, env=self.env)
        except (OSError, subprocess.SubprocessError) as error:
            return Availability(False, f"{self.node} --version failed: {error}")
        return Availability(True)

    def install_hint(self) -> str:
        """How to get the program, after the 'not found' reason (runtimes from npm packages say how)."""
        return ""

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        instance = self.spawn_runner(worker)
        process = instance.process
        instance.track(self.live)
        clock.mark("spawn")
        try:
            instance.await_ready()
            clock.mark("runtime_ready")
            self.load_worker(instance, worker, clock)
        except (LimitExceeded, InstanceCrashed):
            raise  # already typed and stopped
        except BackendError as error:
            detail = _describe_exit(process, self.runtime)
            instance.stop()
            raise type(error)(f"{error}{detail}") from None
        return instance

    def load_worker(self, instance: NodeProcessInstance, worker: Worker, clock: PhaseClock) -> None:
        """The `load_worker` phase: send the bundle, which the runner compiles and runs."""
        instance.load(worker.bundle, worker.path.name, self._code_cache_for(worker))
        clock.mark("load_worker")

    def _code_cache_for(self, worker: Worker) -> str | None:
        """The V8 code-cache file the worker is compiled from (None: compiled from source)."""
        return None

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        total = None
        for instance in instances:
            tree = process_tree_memory(instance.pid)
            total = tree if total is None else total + tree
        if total is None:
            return []
        scope = f"sum over each instance's {self.runtime} process tree"
        return [
            MemoryFigure("uss", total.uss, scope),
            MemoryFigure("pss", total.pss, scope),
            MemoryFigure("rss", total.rss, scope + " (shared pages counted in every process)"),
        ]

    def versions(self) -> dict[str, str]:
        output = subprocess.run(
            [self.node, "-p", "JSON.stringify({node: process.versions.node, v8: process.versions.v8})"],
            capture_output=True, text=True, timeout=30, env=self.env,
        ).stdout
        return {**json.loads(output), "node_path": self.node}

    def transport(self) -> str:
        return "NDJSON over the child's stdin/stdout pipes"

    def facts(self) -> dict:
        memory = self.limits.memory_bytes
        return {"limits": {
            "time": f"read deadline on the pipe, then SIGKILL: {self._call_timeout():g} s",
            "memory": ("none" if memory is None else
                       f"a cgroup v1 memory cgroup per instance: {memory} bytes (memory+swap)" if self.uses_cgroup
                       else f"RLIMIT_DATA via prlimit after spawn: {memory} bytes"),
            "pids": "not enforced (RLIMIT_NPROC is per user)",
        }}

    def _call_timeout(self) -> float:
        given = [s for s in (self.limits.call_timeout_s, self.limits.cpu_time_s) if s is not None]
        return min(given) if given else self.timeout


def _describe_exit(process: subprocess.Popen, runtime: str = "node") -> str:
    try:
        code = process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        return ""
    err = b""
    if process.stderr is not None:
        try:
            err = process.stderr.read(8192)
        except (OSError, ValueError):
            pass
    last = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
    return f" ({runtime} exited with {code}{': ' + last[0] if last else ''})"
