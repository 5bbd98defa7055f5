"""`workerd`: Cloudflare's open-source Workers runtime, one workerd process
per instance, spoken to over keep-alive HTTP on loopback.

The runtime is the npm package `workerd`, pinned exactly in
workloads/workerd/package.json (+ package-lock.json) and installed by
`npm ci --prefix workloads/workerd` (`.ci/run` does it); the native binary of
the platform package is executed directly, not npm's node shim.

The worker. workerd runs it natively: it imports the worker's own file as an
ES module (no export rewriting) through a small wrapper
(harness/runtime/workerd_wrapper.mjs), after the same runtime prelude every
backend evaluates, without isobench's Workers API (workers_api.js): workerd's
own Request, Response, Headers and URL serve. A module worker's fetch() gets workerd's real Request; the
handler form is called as everywhere else. `sayHello` is the prelude's (and
`env.sayHello`). The capnp config, the wrapper, the runtime and the worker are
written once per worker into a temporary directory, removed by close().

Cold start: from exec to the first HTTP 200. Phases: `spawn` (Popen returns),
`listening` (workerd reports on its --control-fd that its socket listens; it
has loaded the worker by then), `first_call` (TCP connect, GET /call, 200).
The socket asks for port 0, so the kernel picks a free loopback port and
workerd reports it: no port is guessed and none can be taken by someone else
between choosing and binding.

Warm calls: GET /call?arg=... on one keep-alive http.client connection with
TCP_NODELAY. Transport: GET /ping, the same request path through the wrapper
without the handler. In-engine time: GET /engine (performance.now in workerd).
When workerd closes an idle keep-alive connection (seen with 8 callers on a
loaded machine), the request is sent again once on a new connection, as HTTP
clients do for a GET; the reconnect stays inside that call's time. A closed
connection with workerd gone is a crash, as before.

Memory. uss/pss/rss: each instance's workerd process, summed, as for
`subprocess`. The density Cloudflare's model rests on is a different number:
the marginal cost of one more worker inside the same workerd process. memory()
measures it at every N too: it starts one extra workerd process whose config
has N worker services (the same worker, each its own service with its own
socket), calls each once, reads that process's anonymous memory and RSS, and
stops it. They are the kinds `in_process_anon` (the `Anonymous` line of
/proc/PID/smaps_rollup: heap, V8 isolates, stacks) and `in_process_rss`; their
slope over N (the memory sweep's `slope`) is the cost of one more worker in
the process, and `per_instance` at the largest N spreads the process's own
base over N. USS and PSS are left out there: the N instance processes alive at
the same time share the binary's pages with it, which moves its USS and PSS
with N for a reason unrelated to the workers (seen here: a 4-worker process
with less USS than a 1-worker one).

Limits: a call past `call_timeout_s` (or `cpu_time_s`, as wall time) is a
socket timeout, then the process is killed: CallTimeout. `memory_bytes` caps
the process's memory cgroup (harness/backends/memory_cgroup.py: a cgroup v1
child of the harness's own, made per instance, the process moved in right
after spawn with its charges); workerd's own base memory counts in it. Not
RLIMIT_DATA as for `subprocess`: workerd's V8 reserves its code range as
writable memory and will not start under an RLIMIT_DATA below about 600 MiB.
Where no such cgroup can be made (a cgroup v2 host without delegation) the
backend falls back to RLIMIT_DATA and says so in facts(). An instance whose
process dies during a call raises MemoryLimitExceeded when the cgroup saw an
OOM kill (or, with RLIMIT_DATA, the log shows an allocation failure),
InstanceCrashed otherwise.

workerd is not a hardened sandbox: its README says so and asks for a VM or
similar around it for untrusted code. This row measures the runtime, not
Cloudflare's production isolation layers.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    CallTimeout,
    Instance,
    InstanceCrashed,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
    remove_orphan_scratch,
    scratch_folder,
)
from harness.backends import memory_cgroup
from harness.backends.cpu_probes import process_tree_cpu_seconds
from harness.backends.node_process import end_process
from harness.paths import REPO_ROOT
from harness.backends.environment import child_environment
from harness.backends.fdwait import readable
from harness.backends.memory_probes import process_memory, process_tree_memory
from harness.runtime.worker import RUNTIME_DIR, Worker

WORKERD_DIR = REPO_ROOT / "workloads" / "workerd"
INSTALL_COMMAND = "npm ci --prefix workloads/workerd"
WRAPPER = RUNTIME_DIR / "workerd_wrapper.mjs"
COMPATIBILITY_DATE = "2024-09-23"
START_TIMEOUT_S = 30.0  # exec -> listening, when no call limit applies
SAFETY_TIMEOUT_S = 600.0  # per call, when Limits has no time limit
PLATFORM_PACKAGES = {"x86_64": "workerd-linux-64", "aarch64": "workerd-linux-arm64"}
OUT_OF_MEMORY_SIGNS = ("out of memory", "bad_alloc", "allocation failed", "oom")
CGROUP_PREFIX = "isobench-workerd-"
LOAD_ERROR_SIGNS = ("uncaught", "syntaxerror", "referenceerror", "typeerror", "error compiling")


def pinned_version() -> str:
    try:
        return json.loads((WORKERD_DIR / "package.json").read_text())["dependencies"]["workerd"]
    except (OSError, ValueError, KeyError):
        return ""


def installed_version() -> str:
    try:
        return json.loads((WORKERD_DIR / "node_modules" / "workerd" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return ""


def binary_path() -> Path | None:
    package = PLATFORM_PACKAGES.get(platform.machine())
    if package is None or platform.system() != "Linux":
        return None
    return WORKERD_DIR / "node_modules" / "@cloudflare" / package / "bin" / "workerd"


def config_text(services: int) -> str:
    """A capnp config: `services` worker services of the same worker, each
    served on its own loopback socket with port 0 (socket s<i> -> service w<i>)."""
    names = range(services)
    service_list = ", ".join(f'(name = "w{i}", worker = .worker)' for i in names)
    socket_list = ", ".join(f'(name = "s{i}", address = "127.0.0.1:0", http = (), service = "w{i}")' for i in names)
    return (
        'using Workerd = import "/workerd/workerd.capnp";\n'
        f"const config :Workerd.Config = (\n  services = [{service_list}],\n  sockets = [{socket_list}],\n);\n"
        "const worker :Workerd.Worker = (\n"
        '  modules = [(name = "wrapper.mjs", esModule = embed "wrapper.mjs"),\n'
        '             (name = "runtime.js", esModule = embed "runtime.js"),\n'
        '             (name = "worker.js", esModule = embed "worker.js")],\n'
        f'  compatibilityDate = "{COMPATIBILITY_DATE}",\n'
        ");\n"
    )


class WorkerdProcess:
    """One running `workerd serve`, with the ports its control fd reported."""

    def __init__(self, binary: Path, directory: Path, config: Path, env: dict, memory_bytes: int | None,
                 use_cgroup: bool = True) -> None:
        fd, name = tempfile.mkstemp(prefix="workerd-", suffix=".log", dir=directory)
        os.close(fd)
        self.log_path = Path(name)
        self.memory_bytes = memory_bytes
        self.cgroup = None
        if memory_bytes is not None and use_cgroup:
            try:
                self.cgroup = memory_cgroup.MemoryCgroup(memory_bytes, CGROUP_PREFIX)
            except OSError as error:
                self.log_path.unlink(missing_ok=True)
                raise BackendError(f"cannot make a memory cgroup for workerd: {error}") from None
        read_fd, write_fd = os.pipe()
        try:
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [str(binary), "serve", str(config), f"--control-fd={write_fd}"],
                    pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    cwd=directory, env=env,
                    start_new_session=True,  # Ctrl-C reaches the harness, which cleans up
                )
        except OSError as error:
            os.close(read_fd)
            self.log_path.unlink(missing_ok=True)
            if self.cgroup is not None:
                self.cgroup.remove()
            raise BackendError(f"cannot start {binary}: {error}") from None
        finally:
            os.close(write_fd)
        self.control_fd = read_fd  # kept open: workerd may write to it later
        self._buffer = b""
        self.ports: dict[str, int] = {}
        try:
            if self.cgroup is not None:
                self.cgroup.add(self.process.pid)
            elif memory_bytes is not None:
                resource.prlimit(self.process.pid, resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
        except OSError as error:
            self.stop()
            raise BackendError(f"cannot apply the memory limit to workerd {self.process.pid}: {error}") from None

    @property
    def pid(self) -> int:
        return self.process.pid

    def await_listening(self, sockets: int, timeout: float) -> None:
        """Read control messages until `sockets` sockets listen; BackendError
        (or a subclass) if workerd exits or the deadline passes first."""
        deadline = time.monotonic() + timeout
        while len(self.ports) < sockets:
            remaining = deadline - time.monotonic()
            ready = readable([self.control_fd], remaining) if remaining > 0 else []
            if not ready:
                raise _StartTimeout(f"workerd did not listen within {timeout:g} s")
            chunk = os.read(self.control_fd, 65536)
            if not chunk:
                raise self.startup_failure()
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                message = json.loads(line) if line.strip() else {}
                if message.get("event") == "listen":
                    self.ports[message["socket"]] = int(message["port"])

    def startup_failure(self) -> BackendError:
        """What went wrong when workerd exited before listening."""
        status = self.status()
        log = self.log_tail()
        detail = _error_line(log) or "no output"
        lowered = log.lower()
        if self.out_of_memory(log):
            return MemoryLimitExceeded(f"workerd {status} before listening: {self.limit_text()}: {detail}")
        if any(sign in lowered for sign in LOAD_ERROR_SIGNS):
            return WorkerLoadError(f"workerd rejected the worker ({status}): {detail}")
        return BackendError(f"workerd {status} before listening: {detail}")

    def out_of_memory(self, log: str) -> bool:
        """Whether the memory limit is what stopped the process (call after it died)."""
        if self.cgroup is not None:
            return self.cgroup.oom_killed()
        return self.memory_bytes is not None and any(sign in log.lower() for sign in OUT_OF_MEMORY_SIGNS)

    def limit_text(self) -> str:
        mechanism = "memory cgroup" if self.cgroup is not None else "RLIMIT_DATA"
        return f"{mechanism} limit {self.memory_bytes} bytes"

    def status(self, wait_s: float = 2.0) -> str:
        try:
            code = self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exited with {code}"

    def log_tail(self, keep: int = 8192) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(0, os.path.getsize(self.log_path) - keep))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        end_process(self.process)
        if self.control_fd is not None:
            os.close(self.control_fd)
            self.control_fd = None
        self.log_path.unlink(missing_ok=True)
        if self.cgroup is not None:
            self.cgroup.remove()


class _StartTimeout(BackendError):
    """workerd did not report listening in time."""


class WorkerdInstance(Instance):
    def __init__(self, server: WorkerdProcess, seconds: float) -> None:
        self.server = server
        self.seconds = seconds
        self.connection: http.client.HTTPConnection | None = None

    @property
    def pid(self) -> int:
        return self.server.pid

    def cpu_seconds(self) -> float:
        """The workerd process tree since spawn: its threads and reaped children."""
        server = self.server
        return process_tree_cpu_seconds(server.pid, reaped=True) if server is not None else 0.0

    def _connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.ports["s0"], timeout=self.seconds)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _get(self, path: str, what: str) -> bytes:
        if self.server is None:
            raise InstanceCrashed(f"{what}: the instance was stopped")
        try:
            response, body = self._request(path)
        except (socket.timeout, TimeoutError):
            self.stop()
            raise CallTimeout(f"{what} ran past {self.seconds:g} s (socket timeout; workerd killed)") from None
        except (OSError, http.client.HTTPException) as error:
            cause = self._death_cause(what, error)
            self.stop()
            raise cause from None
        if response.status != 200:
            text = body.decode(errors="replace").strip()
            raise BackendError(f"{what} failed: HTTP {response.status}: {text[:300]}")
        return body

    def _request(self, path: str) -> tuple[http.client.HTTPResponse, bytes]:
        while True:
            reused = self.connection is not None
            if not reused:
                self.connection = self._connect()
            try:
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                return response, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused or self.server.process.poll() is not None:
                    raise
                self.connection.close()  # closed by workerd while idle: once more, on a new connection
                self.connection = None

    def _death_cause(self, what: str, error: Exception) -> BackendError:
        status = self.server.status()
        log = self.server.log_tail()
        detail = f"workerd {status} during {what} ({error.__class__.__name__})"
        line = _error_line(log)
        if line:
            detail += f": {line[:200]}"
        if self.server.out_of_memory(log):
            return MemoryLimitExceeded(f"{detail} ({self.server.limit_text()})")
        return InstanceCrashed(detail)

    def call(self, arg: str) -> str:
        return self._get(f"/call?arg={quote(arg, safe='')}", "the handler").decode()

    def ping(self) -> None:
        self._get("/ping", "ping")

    def engine_time(self, arg: str, min_ms: float) -> dict:
        return json.loads(self._get(f"/engine?arg={quote(arg, safe='')}&min_ms={float(min_ms)}", "the engine-time loop"))

    def _release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()
        server, self.server = self.server, None
        if server is not None:
            server.stop()


class WorkerdBackend(Backend):
    name = "workerd"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: the Workers runtime's own API (no WeakRef or FinalizationRegistry at this compatibility date).
    host_globals = frozenset({
        "crypto", "TextEncoder", "TextDecoder", "setTimeout", "setInterval", "clearTimeout", "clearInterval",
        "queueMicrotask", "structuredClone", "atob", "btoa", "performance", "navigator", "self", "caches",
        "scheduler", "HTMLRewriter", "WebSocketPair", "WebSocket", "URLPattern", "ReadableStream",
        "WritableStream", "TransformStream", "Blob", "FormData", "File", "AbortController", "AbortSignal",
        "EventTarget", "Event", "WebAssembly", "Intl", "SharedArrayBuffer", "Atomics", "Headers",
        "URLSearchParams", "URL", "Request", "Response", "console", "fetch",
    })
    summary = ("a fresh workerd process (Cloudflare's Workers runtime, npm workerd) per instance; "
               "keep-alive HTTP on loopback. Not a hardened sandbox (its README says so)")
    described_as = "a workerd process"
    family = "process"
    instance_class = "process"
    runner_marks = ("isobench-workerd-",)
    cpu_scope = ("the harness process, plus the workerd process tree since spawn: its CPU-time clock (all threads, ns) "
                 "and the children it reaped (clock ticks)")
    # One connection per instance and one caller at a time on it.
    concurrency_modes = (PER_CALLER,)

    def __init__(self, limits: Limits | None = None, binary: Path | None = None) -> None:
        super().__init__(limits)
        seconds = [s for s in (self.limits.call_timeout_s, self.limits.cpu_time_s) if s is not None]
        self.seconds = min(seconds) if seconds else SAFETY_TIMEOUT_S
        self.start_timeout = START_TIMEOUT_S if not seconds else min(START_TIMEOUT_S, 10.0 + self.seconds)
        self.binary = binary or binary_path()
        self.env = child_environment()
        self.directory: Path | None = None
        self._worker_sha = ""
        self._configs: dict[int, Path] = {}
        self.use_cgroup = self.limits.memory_bytes is not None and not memory_cgroup.problem()

    def availability(self) -> Availability:
        if self.binary is None:
            return Availability(False, f"no workerd package for {platform.system()} {platform.machine()}")
        if not self.binary.exists():
            return Availability(False, f"workerd is not installed ({self.binary} is missing): "
                                       f"run `{INSTALL_COMMAND}` in the repository root")
        pinned, installed = pinned_version(), installed_version()
        if pinned and installed != pinned:
            return Availability(False, f"workerd {installed or '?'} is installed but {pinned} is pinned: "
                                       f"run `{INSTALL_COMMAND}` in the repository root")
        try:
            subprocess.run([str(self.binary), "--version"], capture_output=True, timeout=30, check=True, env=self.env)
        except (OSError, subprocess.SubprocessError) as error:
            return Availability(False, f"{self.binary} --version failed: {error}")
        return Availability(True)

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return super().cleanup(run_id) + remove_orphan_scratch("workerd")

    def prepare(self, worker: Worker) -> None:
        self._files_for(worker)

    def _files_for(self, worker: Worker) -> None:
        """The wrapper, runtime and worker files of this worker in the backend's temp dir."""
        if self.directory is not None and self._worker_sha == worker.sha256:
            return
        if self.directory is None:
            self.directory = scratch_folder("workerd")
        (self.directory / "wrapper.mjs").write_text(WRAPPER.read_text())
        (self.directory / "runtime.js").write_text(worker.runtime_script)
        (self.directory / "worker.js").write_text(worker.source)
        self._worker_sha = worker.sha256

    def _config(self, services: int) -> Path:
        path = self._configs.get(services)
        if path is None:
            path = self.directory / f"config-{services}.capnp"
            path.write_text(config_text(services))
            self._configs[services] = path
        return path

    def _serve(self, services: int, clock: PhaseClock | None = None) -> WorkerdProcess:
        server = WorkerdProcess(self.binary, self.directory, self._config(services), self.env,
                                self.limits.memory_bytes, self.use_cgroup)
        if clock is not None:
            clock.mark("spawn")
        try:
            server.await_listening(services, self.start_timeout)
        except _StartTimeout as error:
            server.stop()
            if self.limits.call_timeout_s is None and self.limits.cpu_time_s is None:
                raise BackendError(str(error)) from None
            raise CallTimeout(f"loading the worker: {error} (workerd killed)") from None
        except BackendError:
            server.stop()
            raise
        return server

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        self._files_for(worker)
        server = self._serve(1, clock)
        instance = WorkerdInstance(server, self.seconds)
        instance.track(self.live)
        clock.mark("listening")
        return instance

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        if not instances:
            return []
        total = None
        for instance in instances:
            tree = process_tree_memory(instance.pid)
            total = tree if total is None else total + tree
        scope = "sum over each instance's workerd process"
        figures = [
            MemoryFigure("uss", total.uss, scope),
            MemoryFigure("pss", total.pss, scope),
            MemoryFigure("rss", total.rss, scope + " (shared pages counted in every process)"),
        ]
        return figures + self.in_process_figures(len(instances))

    def in_process_figures(self, workers: int) -> list[MemoryFigure]:
        """One extra workerd process hosting `workers` worker services, each called
        once; its anonymous memory and RSS (see the module docstring)."""
        server = self._serve(workers)
        try:
            for port in server.ports.values():
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=self.seconds)
                try:
                    connection.request("GET", "/call?arg=World")
                    response = connection.getresponse()
                    response.read()
                    if response.status != 200:
                        raise BackendError(f"in-process density: a worker answered HTTP {response.status}")
                finally:
                    connection.close()
            own = process_memory(server.pid)
            anonymous = anonymous_bytes(server.pid)
        finally:
            server.stop()
        scope = (f"one extra workerd process hosting N worker services (N = {workers}, each called once); "
                 "the slope over N is one more worker in the same process")
        return [MemoryFigure("in_process_anon", anonymous, scope + "; anonymous pages (heap, isolates)"),
                MemoryFigure("in_process_rss", own.rss, scope)]

    def versions(self) -> dict[str, str]:
        output = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True,
                                timeout=30, env=self.env).stdout.strip()
        return {"workerd": output.removeprefix("workerd ").strip(), "npm_workerd": installed_version(),
                "compatibility_date": COMPATIBILITY_DATE, "binary": str(self.binary)}

    def facts(self) -> dict:
        return {
            "worker": "the same bundle as every backend, imported by an ES-module wrapper "
                      "(harness/runtime/workerd_wrapper.mjs) whose fetch calls the handler",
            "sandbox": "workerd is not a hardened sandbox (its README); no VM or seccomp layer around it here",
            "limits": {"time": f"socket timeout {self.seconds:g} s, then the process is killed",
                       "memory": self._memory_mechanism()},
        }

    def _memory_mechanism(self) -> str:
        if self.limits.memory_bytes is None:
            return "none"
        if self.use_cgroup:
            return f"a cgroup v1 memory cgroup per instance, {self.limits.memory_bytes} bytes (memory+swap)"
        return (f"RLIMIT_DATA {self.limits.memory_bytes} bytes via prlimit after spawn (no memory cgroup here: "
                f"{memory_cgroup.problem()}; workerd needs about 600 MiB of it to start)")

    def transport(self) -> str:
        return "HTTP/1.1 keep-alive on loopback TCP (http.client, TCP_NODELAY) to the wrapper's fetch handler"

    def close(self) -> None:
        super().close()
        directory, self.directory = self.directory, None
        self._configs = {}
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


def anonymous_bytes(pid: int) -> int:
    """The process's anonymous memory (the Anonymous line of smaps_rollup), in bytes."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) * 1024
    raise BackendError(f"no Anonymous line in /proc/{pid}/smaps_rollup")


def _error_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        lowered = line.lower()
        if "error" in lowered or "uncaught" in lowered:
            return line
    return lines[-1] if lines else ""
