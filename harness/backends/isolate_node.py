"""`isolate-node`: a fresh V8 isolate per instance inside one long-lived node
process, through the isolated-vm addon: how node platforms run untrusted code
in isolates.

The host. The backend starts one node process running
harness/runtime/isolated_vm_host.js (`node --no-node-snapshot`, which
isolated-vm requires on node 20) in prepare(), untimed, and makes and
disposes one isolate there so that isolated-vm's own first-use set-up is
not in any cold start. A start that finds no host (prepare() skipped, or the
host died) starts one and shows it as the phase `spawn_host` (spawn to its
ready line). The host speaks NDJSON over its stdin/stdout pipes, one request
at a time; every request names its isolate by id.

One instance is an `ivm.Isolate` (memoryLimit from Limits.memory_bytes) with
one context that evaluates the same bundle as every other backend. The
context has plain ECMAScript globals: no `process`, `require`, `Buffer` or
`crypto`, as in the py_mini_racer isolate. Phases of a start: `new_isolate`
(request sent -> reply with the isolate's id: `new ivm.Isolate` and
`createContextSync`), `load_worker` (request sent -> reply: the bundle
compiled and run), then `first_call`. Each timer starts when the harness
writes the request and stops when the reply line arrives, so every phase
holds one pipe round trip.

Family and instance class. The instances are isolates in a process, so the
family is `in-process` (reports set it beside the other isolates). But that
process is the node host, not the harness, so the instance class is
`process`: memory is read from the host process and counted as PSS (the
class's headline), and nothing claims the worker shares the harness's address
space. memory() reads the host's USS/PSS/RSS after a GC in the host, as
growth over memory_baseline() (the host alive with no isolate, after one was
made and disposed), plus the V8 heap of the given isolates
(getHeapStatisticsSync). CPU: the host process's CPU-time clock from the
moment the start request is written; the host serves one request at a time,
so that is this instance's start and first call (and whatever the host's own
GC does meanwhile).

Limits. The host enforces them, per isolate: `call_timeout_s` (or
`cpu_time_s`, as wall time) is isolated-vm's `timeout` on every run and
applySync ("Script execution timed out."): CallTimeout. `memory_bytes` is
the isolate's `memoryLimit` (isolated-vm's minimum is 8 MiB; it counts the V8
heap and ArrayBuffers it allocates, and its README calls it a guideline that
a determined worker can overrun 2-3 times): the isolate disposed for it, or
an ArrayBuffer refused by its allocator, is MemoryLimitExceeded. Without a
memory limit isolated-vm's default of 128 MB applies. Either breach disposes
the isolate in the host and stops the instance; the other isolates go on.
Should the host not answer within the limit plus HOST_GRACE_S (isolated-vm
could not stop a script), it is killed: every instance in it is lost. A
worker that brings V8 down fatally ends the host and all its instances,
never the harness: InstanceCrashed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from harness.backends.base import (
    Availability,
    Backend,
    BackendError,
    CallTimeout,
    Instance,
    InstanceCrashed,
    LimitExceeded,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
)
from harness.backends.cpu_probes import ProcessCpuClock
from harness.backends.environment import child_environment
from harness.backends.memory_probes import process_memory
from harness.backends.ndjson import ChannelClosed, ChannelTimeout, PipeChannel
from harness.paths import REPO_ROOT
from harness.runtime.worker import RUNTIME_DIR, Worker

HOST_SCRIPT = RUNTIME_DIR / "isolated_vm_host.js"
PACKAGE_DIR = REPO_ROOT / "workloads" / "isolated-vm"  # package.json pins it; npm ci builds it
INSTALL_COMMAND = "npm ci --prefix workloads/isolated-vm (scripts/setup-host.sh does it, building offline)"
NODE_FLAGS = ("--no-node-snapshot", "--expose-gc")  # isolated-vm needs the first on node >= 20
MIB = 1 << 20
MIN_MEMORY_LIMIT_MB = 8  # isolated-vm refuses less
SAFETY_TIMEOUT_S = 600.0  # when Limits has no time limit
HOST_GRACE_S = 5.0  # past the limit, how long the host may take to report its own timeout
HOST_START_S = 30.0  # for the host's ready line


def addon_dir(package_dir: Path = PACKAGE_DIR) -> Path:
    return package_dir / "node_modules" / "isolated-vm"


def pinned_version(package_dir: Path = PACKAGE_DIR) -> str | None:
    try:
        return json.loads((package_dir / "package.json").read_text())["dependencies"]["isolated-vm"]
    except (OSError, ValueError, KeyError):
        return None


def installed_version(package_dir: Path = PACKAGE_DIR) -> str | None:
    try:
        return json.loads((addon_dir(package_dir) / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def time_limit_s(limits: Limits) -> float:
    """One run's timeout: the tighter of the call and CPU limits (CPU as wall time)."""
    given = [s for s in (limits.call_timeout_s, limits.cpu_time_s) if s is not None]
    return min(given) if given else SAFETY_TIMEOUT_S


def memory_limit_mb(limits: Limits) -> float | None:
    """isolated-vm's memoryLimit (MB) for Limits.memory_bytes; None: its default (128)."""
    if limits.memory_bytes is None:
        return None
    return max(MIN_MEMORY_LIMIT_MB, limits.memory_bytes / MIB)


class IsolatedVmHost:
    """The node process that holds every instance's isolate."""

    def __init__(self, node: str, addon: Path, env: dict[str, str]) -> None:
        self._stderr = tempfile.TemporaryFile()  # unlinked: nothing is left even if the harness dies
        self.process = subprocess.Popen(
            [node, *NODE_FLAGS, str(HOST_SCRIPT), str(addon)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            start_new_session=True,  # Ctrl-C reaches the harness, which cleans up
        )
        self.channel = PipeChannel(self.process.stdin.fileno(), self.process.stdout.fileno())
        self.cpu_clock = ProcessCpuClock(self.process.pid)
        self._lock = threading.Lock()  # one request and its reply at a time
        self.info: dict = {}

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def await_ready(self) -> None:
        try:
            line = self.channel.receive_line(HOST_START_S)
            self.info = json.loads(line)
        except (BackendError, ValueError) as error:
            cause = self.death_cause() if not self.alive() else str(error)
            self.kill()
            raise BackendError(f"the isolated-vm host did not start: {cause}") from None

    def request(self, message: dict, timeout: float) -> dict:
        """One reply, ok or not; ChannelTimeout or ChannelClosed when the host does not answer."""
        with self._lock:
            self.channel.send_line(json.dumps(message, separators=(",", ":")).encode())
            line = self.channel.receive_line(timeout)
        try:
            return json.loads(line)
        except ValueError:
            raise BackendError(f"the isolated-vm host sent something other than JSON: {line[:200]!r}") from None

    def death_cause(self) -> str:
        """'node exited with 134: <the first error line on its stderr>'."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the host node process stopped answering"
        status = f"killed by signal {-code}" if code < 0 else f"exited with {code}"
        self._stderr.seek(0)
        err = self._stderr.read()[-8192:].decode(errors="replace")
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        if "is_heap_oom = 1" in err or "heap out of memory" in err:
            detail = "V8's fatal heap out-of-memory in an isolate aborted the whole host"
        else:
            detail = next((line for line in lines if "error" in line.lower()), lines[-1] if lines else "")
        return (f"the host node process {status}" + (f": {detail[:200]}" if detail else "")
                + "; every isolate in it is lost")

    def kill(self) -> None:
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
            self.process.wait()
        self._close_files()

    def close(self, wait_s: float = 5.0) -> None:
        """End of input: the host disposes its isolates and exits; killed if it does not."""
        if self.process.returncode is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=wait_s)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _close_files(self) -> None:
        for stream in (self.process.stdin, self.process.stdout, self._stderr):
            if stream is not None and not stream.closed:
                stream.close()


class IsolateNodeInstance(Instance):
    def __init__(self, host: IsolatedVmHost, limits: Limits) -> None:
        self.host = host
        self.limits = limits
        self.seconds = time_limit_s(limits)
        self.id: int | None = None  # the host's isolate id, once made
        self.cpu_at_request = host.cpu_clock.seconds()

    def cpu_seconds(self) -> float:
        """The host process's CPU (all threads) since this instance was requested."""
        return max(0.0, self.host.cpu_clock.seconds() - self.cpu_at_request)

    def request(self, message: dict, what: str) -> dict:
        """One request to the host with the run limit; a breach or a lost host
        stops the instance and raises its typed error."""
        message = {**message, "timeout_ms": self.seconds * 1e3}
        if self.id is not None:
            message["id"] = self.id
        error: BackendError
        try:
            reply = self.host.request(message, self.seconds + HOST_GRACE_S)
        except ChannelTimeout:
            self.host.kill()  # it ignored its own timeout: nothing else can stop it
            error = CallTimeout(f"{what} ran past the {self.seconds:g} s limit and the host did not stop it within "
                                f"{HOST_GRACE_S:g} s more; host killed, with every isolate in it")
        except ChannelClosed:
            error = InstanceCrashed(f"{what}: {self.host.death_cause()}")
        else:
            if reply.get("ok"):
                return reply
            kind, text = reply.get("kind"), reply.get("error", "unknown")
            # The host has disposed the isolate on a breach; stop() tells it again all the same.
            if kind == "timeout":
                error = CallTimeout(f"{what} ran past the {self.seconds:g} s limit ({text}); isolate disposed")
            elif kind == "memory":
                limit = (f"{self.limits.memory_bytes} bytes" if self.limits.memory_bytes is not None
                         else "isolated-vm's default, 128 MB")
                error = MemoryLimitExceeded(f"{what}: past the isolate's memoryLimit of {limit} ({text}); "
                                            "isolate disposed")
            else:
                raise BackendError(f"{what} failed: {text}")
        self.stop()
        raise error

    def make(self, memory_mb: float | None) -> None:
        self.id = self.request({"op": "new_isolate", "memory_mb": memory_mb}, "making the isolate")["id"]

    def load(self, bundle: str, filename: str) -> None:
        try:
            self.request({"op": "load", "source": bundle, "filename": filename}, "loading the worker")
        except (LimitExceeded, InstanceCrashed):
            raise
        except BackendError as error:
            raise WorkerLoadError(str(error).replace("loading the worker failed: ", "", 1)) from None

    def call(self, arg: str) -> str:
        return self.request({"op": "call", "arg": arg}, "the call")["result"]

    def ping(self) -> None:
        self.request({"op": "ping"}, "ping")

    def engine_time(self, arg: str, min_ms: float) -> dict:
        return self.request({"op": "engine", "arg": arg, "min_ms": float(min_ms)}, "the in-engine loop")["result"]

    def _release(self) -> None:
        isolate, self.id = self.id, None
        if isolate is None or not self.host.alive():
            return
        try:
            self.host.request({"op": "stop", "id": isolate}, HOST_GRACE_S)
        except BackendError:
            self.host.kill()  # a host that cannot dispose an isolate cannot be trusted with the next


class IsolateNodeBackend(Backend):
    name = "isolate-node"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: bare V8 in an isolated-vm context
    # (ECMAScript, WebAssembly, Intl, V8's own console); none of node's.
    host_globals = frozenset({"WebAssembly", "Intl", "SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry", "console"})
    summary = ("a fresh V8 isolate per instance inside one long-lived node host process (isolated-vm); "
               "NDJSON over the host's stdin/stdout pipes")
    described_as = "a V8 isolate in a node process (isolated-vm)"
    family = "in-process"
    instance_class = "process"  # the isolates live in the node host, not in the harness: see the docstring
    runner_marks = ("isolated_vm_host.js",)
    cpu_scope = ("the harness process, plus the node host process's CPU-time clock (all threads, ns) from the "
                 "moment the start request is written: the host serves one request at a time, so that is this "
                 "instance's start and first call")
    concurrency_modes = ()  # one host thread, one request at a time: calls never overlap

    def __init__(self, limits: Limits | None = None, node: str | None = None, package_dir: Path = PACKAGE_DIR,
                 inherit_env: tuple[str, ...] = ()) -> None:
        super().__init__(limits)
        self.node = node or shutil.which("node") or "/usr/bin/node"
        self.package_dir = package_dir
        self.env = child_environment(inherit_env)
        self.host: IsolatedVmHost | None = None
        self.hosts_started = 0
        self._availability: Availability | None = None

    @classmethod
    def from_options(cls, options) -> "IsolateNodeBackend":
        return cls(limits=options.limits, inherit_env=options.inherit_env)

    def availability(self) -> Availability:
        if self._availability is None:
            self._availability = self._check()
        return self._availability

    def _check(self) -> Availability:
        if not os.access(self.node, os.X_OK):
            return Availability(False, f"node not found at {self.node}")
        addon = addon_dir(self.package_dir)
        pinned, installed = pinned_version(self.package_dir), installed_version(self.package_dir)
        if installed is None:
            return Availability(False, f"isolated-vm is not installed ({addon} is missing): run {INSTALL_COMMAND}")
        if pinned and installed != pinned:
            return Availability(False, f"isolated-vm {installed} is installed but {pinned} is pinned: "
                                       f"run {INSTALL_COMMAND}")
        code = f"require({json.dumps(str(addon))}); console.log('ok')"
        try:
            result = subprocess.run([self.node, *NODE_FLAGS, "-e", code], capture_output=True, text=True,
                                    timeout=30, env=self.env, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            return Availability(False, f"{self.node} could not be run: {error}")
        if result.returncode != 0 or result.stdout.strip() != "ok":
            lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            why = next((line for line in lines if "Error" in line), lines[-1] if lines else "no output")
            return Availability(False, f"the isolated-vm addon does not load in {self.node} ({why[:200]}): "
                                       f"its native build is missing or failed; run {INSTALL_COMMAND}")
        return Availability(True)

    # ------------------------------------------------------------ the host

    def _ensure_host(self) -> bool:
        """A running host; True if one had to be started now."""
        if self.host is not None and self.host.alive():
            return False
        if self.host is not None:
            self.host.kill()
        host = IsolatedVmHost(self.node, addon_dir(self.package_dir), self.env)
        host.await_ready()
        self.host = host
        self.hosts_started += 1
        return True

    def _warm_host(self) -> None:
        """The host running, with one isolate made and disposed (isolated-vm's first-use set-up)."""
        if self._ensure_host():
            first = IsolateNodeInstance(self.host, self.limits)
            try:
                first.make(memory_limit_mb(self.limits))
            finally:
                first.stop()

    def prepare(self, worker: Worker) -> None:
        self._warm_host()

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        if self.host is None or not self.host.alive():
            self._ensure_host()
            clock.mark("spawn_host")  # the ready line included
        instance = IsolateNodeInstance(self.host, self.limits)
        instance.track(self.live)
        try:
            instance.make(memory_limit_mb(self.limits))
            clock.mark("new_isolate")
            instance.load(worker.bundle, worker.path.name)
            clock.mark("load_worker")
        except BaseException:
            instance.stop()
            raise
        return instance

    # ------------------------------------------------------------ memory

    def _figures(self, scope: str) -> list[MemoryFigure]:
        self.host.request({"op": "collect"}, HOST_GRACE_S)
        own = process_memory(self.host.pid)
        return [MemoryFigure("uss", own.uss, scope), MemoryFigure("pss", own.pss, scope),
                MemoryFigure("rss", own.rss, scope + " (shared pages counted in full)")]

    def memory_baseline(self) -> list[MemoryFigure]:
        self._warm_host()
        return self._figures("the node host process with no isolate alive")

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        if self.host is None or not self.host.alive():
            return []
        scope = ("the node host process that holds every instance (growth over the host with no isolate alive, "
                 "after a GC in the host)")
        figures = self._figures(scope)
        ids = [instance.id for instance in instances if isinstance(instance, IsolateNodeInstance) and instance.id]
        heap = self.host.request({"op": "heap", "ids": ids}, HOST_GRACE_S)["result"]
        heap_scope = "sum of isolated-vm's getHeapStatisticsSync() over the instances' isolates (V8 heap only)"
        figures.append(MemoryFigure("v8_heap_physical", heap["total_physical_size"], heap_scope))
        figures.append(MemoryFigure("v8_heap_used", heap["used_heap_size"], heap_scope))
        return figures

    # ------------------------------------------------------------ what it is

    def versions(self) -> dict[str, str]:
        output = subprocess.run(
            [self.node, "-p", "JSON.stringify({node: process.versions.node, v8: process.versions.v8})"],
            capture_output=True, text=True, timeout=30, env=self.env, check=False,
        ).stdout
        return {**json.loads(output), "isolated-vm": installed_version(self.package_dir) or "not installed",
                "node_path": self.node}

    def transport(self) -> str:
        return ("NDJSON over the node host's stdin/stdout pipes; in the host, isolated-vm's synchronous applySync "
                "into the instance's isolate")

    def facts(self) -> dict:
        memory = memory_limit_mb(self.limits)
        return {
            "host": {"node_flags": list(NODE_FLAGS), "hosts_started": self.hosts_started,
                     "isolates_per_host": "every instance of the backend, one request at a time"},
            "limits": {
                "time": f"isolated-vm's timeout on every run and applySync: {time_limit_s(self.limits):g} s "
                        f"(the host is killed if it does not answer {HOST_GRACE_S:g} s after)",
                "memory": (f"isolated-vm memoryLimit {memory:g} MB per isolate (V8 heap and its ArrayBuffers; "
                           "a guideline, which a determined worker can overrun 2-3 times)" if memory is not None
                           else "none given: isolated-vm's default memoryLimit of 128 MB per isolate"),
                "process": "none per instance: every isolate shares the one node host process",
            },
        }

    def close(self) -> None:
        try:
            super().close()
        finally:
            host, self.host = self.host, None
            if host is not None:
                host.close()
