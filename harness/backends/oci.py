"""`oci-runc` and `oci-crun`: the container backend's image, run as an OCI
bundle by the runtime itself: no dockerd, no containerd, no shim.

Each instance is `runc run` (or `crun run`, through crun-hybrid-wrapper) in
the foreground with no terminal, and the harness speaks the runner's NDJSON
over the runtime's stdin/stdout pipes, as the subprocess backend does. crun
gives those very pipes to the container; runc gives the container pipes of
its own and copies between the two (measured: the container's fd 0 is not the
harness's pipe), one more hop per message. The runtime stays as the
container's parent (the role containerd-shim plays under Docker) until the
container exits. The bundle's rootfs is the image's files, assembled the same way
(oci_bundle.py); its config.json mirrors Docker's, with a read-only rootfs and
a network namespace with no interface.

Phases: `bundle` (the instance's config.json written), `run` (the runtime
creates and starts the container: from there until node's process began, i.e.
the ready line's arrival minus the boot time node measured itself with
performance.now()), `runtime_ready` (node's own start-up, by node's clock),
`load_worker`, `first_call`. Docker's `create`+`attach`+`start` compare with
`bundle`+`run`.

Names: container ids and cgroups `isobench-<session>-<n>`, bundles under a
temporary `isobench-oci-<session>-*` folder. Everything is removed on stop, on
error, on close and (cleanup.clean_up_run) after an interrupted run.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.backends.node_process import NODE_GLOBALS
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
from harness.backends.container_runtimes import CRUN_WRAPPER, runtime_version, wrapper_overhead_ms
from harness.backends.cpu_probes import container_cpu
from harness.backends.ndjson import ChannelClosed, ChannelTimeout, PipeChannel
from harness.backends.oci_bundle import base_config, image_entrypoint, instance_config, make_rootfs, write_bundle
from harness.backends.oci_cgroup import (
    OomWatch,
    cgroup_layout,
    leftover_cgroups,
    memory_cgroup_dir,
    remove_cgroup,
    swap_accounting,
)
from harness.backends.runner_limits import LimitedRunnerInstance
from harness.backends.environment import child_environment
from harness.backends.fdwait import readable
from harness.backends.memory_probes import ZERO, cgroup_memory_of_pid, process_memory, process_tree_memory
from harness.runtime.worker import Worker

ID_PREFIX = "isobench-"
BUNDLES_PREFIX = "isobench-oci-"


@dataclass(frozen=True)
class OciRuntime:
    name: str  # runc or crun
    package: str  # Debian package
    state_root: str  # where the runtime keeps container state (its default --root)
    # Measured (tests/test_runtimes.py checks it): in the foreground without a
    # terminal, runc gives the container pipes of its own and copies between
    # them and its stdio; crun hands the container its own stdio.
    relays_stdio: bool
    wrapper: Path | None = None  # run the runtime through this file

    @property
    def command(self) -> list[str]:
        return [str(self.wrapper) if self.wrapper else self.name]


RUNTIMES = {
    "runc": OciRuntime("runc", "runc", "/run/runc", relays_stdio=True),
    "crun": OciRuntime("crun", "crun", "/run/crun", relays_stdio=False, wrapper=CRUN_WRAPPER),
}


def safe_session(session: str) -> str:
    """A session id usable in container ids and cgroup names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", session).strip("-.") or uuid.uuid4().hex[:12]


def leftover_containers(runtime: OciRuntime, prefix: str) -> list[str]:
    """Container ids in the runtime's state folder that start with prefix."""
    try:
        return sorted(name for name in os.listdir(runtime.state_root) if name.startswith(prefix))
    except OSError:
        return []


def force_delete(runtime: OciRuntime, container_id: str) -> None:
    """`runtime delete -f`: kills what is left of the container and removes its
    state and cgroup. Skipped when the runtime has already cleaned up."""
    if os.path.exists(os.path.join(runtime.state_root, container_id)):
        subprocess.run([*runtime.command, "delete", "-f", container_id], capture_output=True, timeout=30,
                       env=child_environment(()))
    remove_cgroup("/" + container_id)


def remove_session_leftovers(session: str) -> list[str]:
    """Everything of a session's oci-* instances still here: containers (both
    runtimes), cgroups and bundle folders. Returns a line per thing removed."""
    prefix = f"{ID_PREFIX}{safe_session(session)}-"
    removed = []
    for runtime in RUNTIMES.values():
        for container_id in leftover_containers(runtime, prefix):
            force_delete(runtime, container_id)
            removed.append(f"{runtime.name} container {container_id}")
    for directory in leftover_cgroups(prefix):
        try:
            os.rmdir(directory)
            removed.append(f"cgroup {directory}")
        except OSError:
            pass
    bundles_prefix = f"{BUNDLES_PREFIX}{safe_session(session)}-"
    tmp = Path(tempfile.gettempdir())
    for folder in tmp.glob(bundles_prefix + "*"):
        removed.append(f"bundle folder {folder}" if _remove_folder(folder) else f"NOT removed: {folder}")
    return removed


def _remove_folder(folder: Path, attempts: int = 5) -> bool:
    """rmtree, retried: a runtime that is still exiting can hold or add files for a moment."""
    for attempt in range(attempts):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return True
        time.sleep(0.2 * (attempt + 1))
    return False


class WatchedPipeChannel(PipeChannel):
    """Pipes, plus an optional OOM watch that turns a frozen container into
    MemoryLimitExceeded instead of a timeout."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        super().__init__(write_fd, read_fd)
        self.oom: OomWatch | None = None
        self.limit_message = ""

    def _read_some(self, timeout: float | None) -> bytes:
        if self.oom is None:
            return super()._read_some(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = readable([self._read_fd, self.oom.event_fd], remaining)
            if self.oom.event_fd in ready and self.oom.fired():
                raise MemoryLimitExceeded(self.limit_message)
            if self._read_fd in ready:
                return os.read(self._read_fd, 65536)
            if not ready:
                raise ChannelTimeout(f"no answer from the runner within {timeout:.1f} s")

    def close(self) -> None:
        if self.oom is not None:
            self.oom.close()
            self.oom = None


class OciInstance(LimitedRunnerInstance):
    def __init__(self, runtime: OciRuntime, container_id: str, process: subprocess.Popen, bundle: Path,
                 timeout: float, limits: Limits) -> None:
        self.oci_channel = WatchedPipeChannel(process.stdin.fileno(), process.stdout.fileno())
        super().__init__(self.oci_channel, timeout, limits)
        self.runtime = runtime
        self.container_id = container_id
        self.process = process
        self.bundle = bundle
        self._container_pid: int | None = None

    @property
    def runtime_pid(self) -> int:
        return self.process.pid

    @property
    def pid(self) -> int:
        """The host pid of the container's first process (node), the runtime's child."""
        if self._container_pid is None:
            children = psutil.Process(self.process.pid).children()
            if not children:
                raise InstanceCrashed(f"container {self.container_id} has no process")
            self._container_pid = children[0].pid
        return self._container_pid

    def cpu_seconds(self) -> float | None:
        """The container's cgroup, plus the foreground runtime process's own
        threads and the children it reaped (see cpu_probes.container_cpu: the
        container's processes are the runtime's descendants and in the cgroup,
        so they are counted once, by the cgroup). None if the container is gone."""
        try:
            pid = self.pid
        except (InstanceCrashed, psutil.Error):
            return None
        measured = container_cpu(pid, self.runtime_pid)
        return measured.total_s if measured is not None else None

    def death_cause(self) -> BackendError:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        oom = _oom_kills(self.container_id)
        if oom:
            return MemoryLimitExceeded(f"container {self.container_id} was killed by its "
                                       f"{self.limits.memory_bytes} byte memory limit")
        detail = _stderr_tail(self.process)
        return InstanceCrashed(f"container {self.container_id} exited during the call "
                               f"({self.runtime.name} run returned {code}{': ' + detail if detail else ''})")

    def _release(self) -> None:
        process = self.process
        if process.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)  # the container's init: the runtime then cleans up and exits
            except (ProcessLookupError, InstanceCrashed, psutil.Error):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.channel.close()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        force_delete(self.runtime, self.container_id)
        shutil.rmtree(self.bundle, ignore_errors=True)


def _oom_kills(container_id: str) -> int:
    """cgroup v2: the oom_kill count in memory.events, while the cgroup is still there."""
    directory = memory_cgroup_dir("/" + container_id)
    try:
        for line in (directory / "memory.events").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, TypeError, ValueError):
        pass
    return 0


def _stderr_tail(process: subprocess.Popen) -> str:
    if process.stderr is None or process.returncode is None:
        return ""
    try:
        os.set_blocking(process.stderr.fileno(), False)
        data = process.stderr.read(8192) or b""
    except (OSError, ValueError, TypeError):
        return ""
    lines = data.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


class OciBackend(Backend):
    host_globals = NODE_GLOBALS  # the node runner under node
    family = "container"
    instance_class = "container"
    concurrency_modes = (PER_CALLER,)  # separate pipes per container; NDJSON has no request ids
    cpu_scope = ("the harness process + the container's cgroup (cpuacct) + the foreground `run` process's threads "
                 "and the children it reaped (the container's processes are counted once, in the cgroup)")

    def __init__(self, runtime: str = "runc", node: str | None = None, cpuset: str | None = None,
                 session: str | None = None, limits: Limits | None = None, timeout: float = 60.0) -> None:
        self.runtime = RUNTIMES[runtime]
        self.name = f"oci-{runtime}"
        self.summary = (f"a fresh container per instance run by {runtime} itself from an OCI bundle of the same "
                        "image (no dockerd, containerd or shim); read-only rootfs, no network interface")
        self.node = node or shutil.which("node") or "/usr/bin/node"
        super().__init__(limits)
        self.cpuset = cpuset
        self.session = safe_session(session or uuid.uuid4().hex[:12])
        self.timeout = timeout
        self.env = child_environment(())
        self._counter = itertools.count(1)
        self._folder: Path | None = None
        self._config: dict | None = None
        self._freeze_on_oom = False

    @classmethod
    def from_options(cls, options) -> "OciBackend":
        return cls(cpuset=options.cpuset, session=options.run_id, limits=options.limits)

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return remove_session_leftovers(run_id)

    def availability(self) -> Availability:
        runtime = self.runtime
        if os.geteuid() != 0:
            return Availability(False, f"{runtime.name} needs root here (it makes namespaces and cgroups); "
                                       "run the harness as root")
        if not shutil.which(runtime.name):
            return Availability(False, f"{runtime.name} is not installed: `apt-get install -y {runtime.package}`")
        if runtime.wrapper is not None and not os.access(runtime.wrapper, os.X_OK):
            return Availability(False, f"{runtime.wrapper} is not executable: `chmod +x {runtime.wrapper}`")
        if not os.access(self.node, os.X_OK):
            return Availability(False, f"node not found at {self.node} (the bundle's rootfs copies it)")
        if memory_cgroup_dir("/") is None:
            return Availability(False, "no memory cgroup hierarchy is mounted (neither cgroup v1 memory nor cgroup2)")
        return Availability(True)

    def prepare(self, worker: Worker) -> None:
        if self._config is not None:
            return
        self._folder = Path(tempfile.mkdtemp(prefix=f"{BUNDLES_PREFIX}{self.session}-"))
        rootfs = self._folder / "rootfs"
        try:
            make_rootfs(rootfs, self.node)
        except BackendError:
            raise
        except Exception as error:
            raise BackendError(f"could not assemble the OCI rootfs: {error}") from None
        self._freeze_on_oom = self.limits.memory_bytes is not None and cgroup_layout() != "v2"
        self._config = base_config(rootfs, image_entrypoint(), self.limits, self.cpuset,
                                   swap_accounting=swap_accounting(), freeze_on_oom=self._freeze_on_oom)

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        if self._config is None:
            self.prepare(worker)
        container_id = f"{ID_PREFIX}{self.session}-{next(self._counter)}"
        bundle = self._folder / "bundles" / container_id
        write_bundle(bundle, instance_config(self._config, container_id, "/" + container_id))
        clock.mark("bundle")
        try:
            process = subprocess.Popen(
                [*self.runtime.command, "run", "--bundle", str(bundle), container_id],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self.env,
                start_new_session=True,  # Ctrl-C reaches the harness, which cleans up
            )
        except OSError as error:
            shutil.rmtree(bundle, ignore_errors=True)
            raise BackendError(f"could not start {self.runtime.name}: {error}") from None
        instance = OciInstance(self.runtime, container_id, process, bundle, self.timeout, self.limits)
        instance.track(self.live)
        try:
            instance.await_ready()
            self._split_boot(clock, instance.runner_info.get("uptime_ms"))
            if self._freeze_on_oom:
                instance.oci_channel.oom = OomWatch(memory_cgroup_dir("/" + container_id))
                instance.oci_channel.limit_message = (f"container {container_id} reached its "
                                                      f"{self.limits.memory_bytes} byte memory limit")
            instance.load(worker.bundle, worker.path.name)
            clock.mark("load_worker")
        except BaseException as error:
            if isinstance(error, ChannelClosed):  # the runtime failed: wait for its message
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            detail = _stderr_tail(process)
            instance.stop()
            if isinstance(error, BackendError) and detail:
                raise type(error)(f"{error} ({self.runtime.name}: {detail})") from None
            raise
        return instance

    @staticmethod
    def _split_boot(clock: PhaseClock, uptime_ms) -> None:
        """Cut the wait for the ready line at node's start: `run` is the
        runtime's part, `runtime_ready` node's own (performance.now() when it
        sent the line). Without that figure, all of it is `run`."""
        clock.mark("run")
        if isinstance(uptime_ms, (int, float)) and 0 <= uptime_ms <= clock.phases["run"]:
            clock.phases["run"] -= uptime_ms
            clock.phases["runtime_ready"] = float(uptime_ms)
        else:
            clock.phases["runtime_ready"] = 0.0

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        cgroup = runtime_pss = 0
        tree = ZERO
        sources = set()
        for instance in instances:
            tree = tree + process_tree_memory(instance.pid)
            measured = cgroup_memory_of_pid(instance.pid)
            cgroup += measured.bytes
            sources.add(measured.source.split(" /")[0])
            try:
                runtime_pss += process_memory(instance.runtime_pid).pss
            except psutil.Error:
                pass
        name = self.runtime.name
        return [
            MemoryFigure("cgroup", cgroup, f"sum of each container's memory cgroup ({', '.join(sorted(sources))})"),
            MemoryFigure("runtime_pss", runtime_pss,
                         f"sum of the PSS of each foreground `{name} run` process, the container's parent "
                         "(in place of containerd-shim; outside the cgroup)"),
            MemoryFigure("uss", tree.uss, "sum of USS over each container's process tree, seen from the host"),
            MemoryFigure("pss", tree.pss, "sum of PSS over each container's process tree, seen from the host"),
            MemoryFigure("rss", tree.rss, "sum of RSS over each container's process tree, seen from the host"),
        ]

    def versions(self) -> dict[str, str]:
        node = subprocess.run([self.node, "--version"], capture_output=True, text=True, timeout=30,
                              env=self.env).stdout.strip()
        return {
            "runtime": self.runtime.name,
            "runtime_version": runtime_version(self.runtime.name),
            "runtime_command": " ".join(self.runtime.command),
            "cgroup_layout": cgroup_layout(),
            "node": node.lstrip("v"),
            "rootfs": "the container image's files (host node, its libraries, the runner), read-only",
            "seccomp": "none (Docker applies its default profile)",
        }

    def facts(self) -> dict:
        limits = self.limits
        timeout = [s for s in (limits.call_timeout_s, limits.cpu_time_s) if s]
        memory = "none"
        if limits.memory_bytes is not None:
            memory = (f"linux.resources.memory.limit = {limits.memory_bytes} bytes; "
                      + ("OOM killer off: the harness sees the freeze through an eventfd and kills the container"
                         if self._freeze_on_oom else "the kernel's OOM killer"))
        pids, cpus = getattr(limits, "max_pids", None), getattr(limits, "cpus", None)
        facts: dict = {"limits": {
            "time": f"read deadline on the pipes, then the container's init is killed (SIGKILL): "
                    f"{min(timeout) if timeout else self.timeout:g} s",
            "memory": memory,
            "pids": f"linux.resources.pids.limit = {pids}" if pids else "none",
            "cpus": f"linux.resources.cpu quota/period = {cpus:g}" if cpus else "none",
            "network": "a network namespace with no interface",
        }}
        if self.runtime.wrapper is not None:
            facts["wrapper_overhead_ms"] = wrapper_overhead_ms(self.runtime.wrapper, self.runtime.name)
        return facts

    def transport(self) -> str:
        name = self.runtime.name
        if self.runtime.relays_stdio:
            return (f"NDJSON over pipes to the foreground `{name} run`, which copies them to and from pipes "
                    "of its own held by the container (one more hop than subprocess)")
        return f"NDJSON over pipes: the foreground `{name} run` hands its stdin/stdout to the container itself"

    def close(self) -> None:
        try:
            super().close()
        finally:
            for container_id in leftover_containers(self.runtime, f"{ID_PREFIX}{self.session}-"):
                force_delete(self.runtime, container_id)
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None
                self._config = None


class OciRuncBackend(OciBackend):
    name = "oci-runc"
    described_as = "a runc container without Docker"
    roles = ("runc-direct",)
    cpu_scope = ("the harness process + the container's cgroup (cpuacct) + the foreground `runc run`'s threads "
                 "(including its stdio relay) and the runc init stages it reaped (the container's processes are "
                 "counted once, in the cgroup)")

    def __init__(self, **options) -> None:
        super().__init__("runc", **options)


class OciCrunBackend(OciBackend):
    name = "oci-crun"
    described_as = "a crun container without Docker"
    roles = ("crun-direct",)
    cpu_scope = ("the harness process + the container's cgroup (cpuacct) + the foreground `crun run`'s threads "
                 "and the children it and its wrapper reaped (the container's processes are counted once, in "
                 "the cgroup)")

    def __init__(self, **options) -> None:
        super().__init__("crun", **options)
