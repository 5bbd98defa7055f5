"""`container`: a fresh Docker container per instance (docker SDK), running
the same node runner over the same NDJSON stdin/stdout protocol as
`subprocess`, carried by the Docker attach socket.

Every container has `--network none`, the label `isobench` (plus one label per
session) and logging disabled (the runner's answers are plumbing, not
isolation). It is removed after use, on error and on Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.backends.node_process import NODE_GLOBALS
from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    BackendUnavailable,
    Instance,
    InstanceCrashed,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
)
from harness.backends.container_image import ensure_image
from harness.backends.cpu_probes import DaemonCpu, container_cpu, cpu_cgroup, keeper_of
from harness.backends.ndjson import DockerAttachChannel
from harness.backends.runner_limits import LimitedRunnerInstance
from harness.backends.memory_probes import ZERO, cgroup_memory_of_pid, docker_stats_of_pid, process_memory, process_tree_memory
from harness.runtime.worker import Worker

LABEL = "isobench"
SESSION_LABEL = "isobench.session"

try:
    import docker
    import docker.errors
except ImportError as _error:
    docker = None
    _IMPORT_ERROR = str(_error)
else:
    _IMPORT_ERROR = ""


CONNECTION_POOLS = 1024  # per client: every URL the engine is asked for has its pool (docker SDK's unix adapter)


def _room_for_many_containers(client) -> None:
    """The SDK's unix-socket adapter keeps one connection pool per request URL in an LRU of 25 and closes the
    one it evicts, even while another thread is using it: in a storm of 64 containers a request then fails
    with urllib3's "'NoneType' object has no attribute 'qsize'". Its `num_pools` argument would set that size,
    but for a unix socket the SDK ignores it (docker 7.x api/client.py), so the LRU is replaced here."""
    adapter = getattr(client.api, "_custom_adapter", None)
    if adapter is not None and hasattr(adapter, "pools"):
        from urllib3._collections import RecentlyUsedContainer

        adapter.pools = RecentlyUsedContainer(CONNECTION_POOLS, dispose_func=lambda pool: pool.close())


def docker_client(timeout: float = 60.0):
    """A client for DOCKER_HOST / the current docker context, or BackendUnavailable."""
    if docker is None:
        raise BackendUnavailable(f"the docker Python SDK is not importable: {_IMPORT_ERROR}")
    try:
        client = docker.from_env(timeout=timeout)
        _room_for_many_containers(client)
        client.ping()
        return client
    except docker.errors.DockerException as error:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        reason = str(error).split("\n")[0]
        raise BackendUnavailable(
            f"no Docker engine at {where} ({reason}); install docker.io and start it with `dockerd &`"
        ) from None


def engine_is_local() -> bool:
    """Whether DOCKER_HOST names this machine's engine (unset or a unix socket)."""
    host = os.environ.get("DOCKER_HOST", "")
    return not host or host.startswith("unix://")


def remove_labelled_containers(client, session: str | None = None) -> int:
    """Remove every isobench container (of one session, if given). Returns the count."""
    label = f"{SESSION_LABEL}={session}" if session else LABEL
    removed = 0
    # ignore_removed: a container removed while the list is read (its own stop) is not an error
    for container in client.containers.list(all=True, filters={"label": label}, ignore_removed=True):
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
    return removed


def container_host_pid(instance) -> int:
    """The container's main process as this machine's /proc numbers it (Docker's State.Pid)."""
    if instance.pid is None:
        instance.container.reload()
        instance.pid = int(instance.container.attrs["State"]["Pid"])
    return instance.pid


def container_is_local(instance) -> bool:
    """Whether the container's main process is in this machine's /proc."""
    try:
        return instance.container.id in Path(f"/proc/{container_host_pid(instance)}/cgroup").read_text()
    except (OSError, ValueError):
        return False


class ContainerInstance(LimitedRunnerInstance):
    def __init__(self, container, channel: DockerAttachChannel, timeout: float, limits: Limits | None = None) -> None:
        super().__init__(channel, timeout, limits)
        self.container = container
        self.pid: int | None = None

    def host_pid(self) -> int:
        return container_host_pid(self)

    def cpu_seconds(self) -> float | None:
        """The container's cgroup, plus its containerd-shim and the children the
        shim reaped (see cpu_probes.container_cpu). None: the engine is remote."""
        if not container_is_local(self):
            return None
        pid = container_host_pid(self)
        shim = keeper_of(pid, "shim")
        if shim is None:
            cgroup = cpu_cgroup(pid)
            return cgroup.seconds() if cgroup is not None else None
        measured = container_cpu(pid, shim)
        return measured.total_s if measured is not None else None

    def death_cause(self) -> BackendError:
        try:
            status = self.container.wait(timeout=10).get("StatusCode")
            self.container.reload()
            oom = self.container.attrs["State"].get("OOMKilled", False)
        except Exception as error:  # the engine itself may be the problem
            return InstanceCrashed(f"container {self.container.short_id} stopped answering ({error})")
        if oom:
            return MemoryLimitExceeded(
                f"container {self.container.short_id} was killed by its {self.limits.memory_bytes} byte memory limit")
        err = bytes(getattr(self.channel, "stderr", b"")).decode(errors="replace")
        message = next((line.strip() for line in err.splitlines() if "error" in line.lower()), "")
        return InstanceCrashed(f"container {self.container.short_id} exited with status {status} during the call"
                               + (f": {message[:200]}" if message else ""))

    def _release(self) -> None:
        self.channel.close()
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            raise BackendError(f"could not remove container {self.container.short_id}: {error}") from None


class ContainerBackend(Backend):
    name = "container"
    host_globals = NODE_GLOBALS  # the node runner under node
    summary = "a fresh Docker container per instance (--network none) running the same node runner"
    described_as = "a Docker container"
    family = "container"
    instance_class = "container"
    roles = ("docker-container",)
    concurrency_modes = (PER_CALLER,)  # one attach socket per container; NDJSON has no request ids
    cpu_scope = ("the harness process + the container's cgroup (cpuacct) + its containerd-shim's threads and "
                 "the runc it reaped + dockerd and containerd growth (threads, and helpers they reaped such as "
                 "`dockerd set-ipv6`)")

    def __init__(self, base_image: str | None = None, cpuset: str | None = None,
                 node: str | None = None, timeout: float = 60.0, log=print, session: str | None = None,
                 runtime: str | None = None, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.runtime = runtime  # a runtime registered in dockerd (`docker run --runtime`); None: its default
        self.base_image = base_image
        self.cpuset = cpuset
        self.node = node or shutil.which("node") or "/usr/bin/node"
        self.timeout = timeout
        self.log = log
        self.session = session or uuid.uuid4().hex[:12]
        self._client = None
        self.image: str | None = None
        self._remote_noted = False
        self._daemons = DaemonCpu()

    @classmethod
    def from_options(cls, options) -> "ContainerBackend":
        return cls(base_image=options.base_image, cpuset=options.cpuset, session=options.run_id,
                   limits=options.limits)

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return remove_run_containers(run_id)

    @property
    def client(self):
        if self._client is None:
            self._client = docker_client()
        return self._client

    def availability(self) -> Availability:
        try:
            self.client
        except BackendUnavailable as error:
            return Availability(False, str(error))
        if not self.base_image and not os.access(self.node, os.X_OK):
            return Availability(False, f"node not found at {self.node} (needed for the scratch image)")
        if self.runtime and self.runtime not in (self.client.info().get("Runtimes") or {}):
            return Availability(False, f"dockerd has no runtime {self.runtime!r} registered "
                                       "(run `sh workloads/runtimes/setup-runtimes.sh` as root)")
        return Availability(True)

    def prepare(self, worker: Worker) -> None:
        self.image = ensure_image(self.client, self.node, self.base_image, log=self.log)

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        if self.image is None:
            self.prepare(worker)
        try:
            container = self.client.containers.create(
                self.image,
                stdin_open=True,
                network_mode="none",
                labels={LABEL: "1", SESSION_LABEL: self.session},
                log_config={"type": "none"},
                cpuset_cpus=self.cpuset,
                runtime=self.runtime,
                mem_limit=self.limits.memory_bytes,
                memswap_limit=self.limits.memory_bytes,  # no swap beyond the limit
                pids_limit=self.limits.max_pids,
                nano_cpus=int(self.limits.cpus * 1e9) if self.limits.cpus else None,
                detach=True,
            )
        except docker.errors.APIError as error:
            raise BackendError(f"container create failed: {error.explanation or error}") from None
        clock.mark("create")
        instance = None
        try:
            sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            raw = getattr(sock, "_sock", sock)
            instance = ContainerInstance(container, DockerAttachChannel(raw), self.timeout, self.limits)
            instance.track(self.live)
            clock.mark("attach")
            container.start()
            clock.mark("start")
            instance.await_ready()
            clock.mark("runtime_ready")
            instance.load(worker.bundle, worker.path.name)
            clock.mark("load_worker")
        except BaseException as error:
            if instance is not None:
                instance.stop()
            else:
                container.remove(force=True)
            if isinstance(error, docker.errors.APIError):
                raise BackendError(f"container start failed: {error.explanation or error}") from None
            raise
        return instance

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        if not all(self._is_local(instance) for instance in instances):
            # The engine takes about a second per stats request: ask in parallel.
            with ThreadPoolExecutor(max_workers=8) as pool:
                docker_stats = sum(pool.map(self._docker_stats_bytes, instances))
            # DOCKER_HOST / a context names an engine on another machine: its
            # containers' PIDs mean nothing in this machine's /proc.
            if not self._remote_noted:
                self.log(f"{self.name}: the Docker engine is not on this machine (its containers' PIDs are not in "
                         "the local /proc): memory is docker stats only; cgroup, shim and USS/PSS/RSS need a local engine")
                self._remote_noted = True
            return [MemoryFigure("docker_stats", docker_stats, "sum of `docker stats` memory (usage minus inactive "
                                 "file); the only figure: the engine is remote, the local /proc cannot see it")]
        return self._local_memory(instances, sum(docker_stats_of_pid(self._pid(i)) for i in instances))

    def _is_local(self, instance: ContainerInstance) -> bool:
        return container_is_local(instance)

    def _local_memory(self, instances: list[Instance], docker_stats: float) -> list[MemoryFigure]:
        cgroup = shim = 0
        tree = ZERO
        cgroup_sources = set()
        for instance in instances:
            pid = self._pid(instance)
            tree = tree + self._tree_memory(pid)
            measured = cgroup_memory_of_pid(pid)
            cgroup += measured.bytes
            cgroup_sources.add(measured.source.split(" /")[0])
            shim += self._shim_pss(pid)
        return [
            MemoryFigure("cgroup", cgroup, f"sum of each container's memory cgroup ({', '.join(sorted(cgroup_sources))})"),
            MemoryFigure("shim_pss", shim, "sum of the containerd-shim processes' PSS (outside the cgroup)"),
            MemoryFigure("uss", tree.uss, "sum of USS over each container's process tree, seen from the host"),
            MemoryFigure("pss", tree.pss, "sum of PSS over each container's process tree, seen from the host"),
            MemoryFigure("rss", tree.rss, "sum of RSS over each container's process tree, seen from the host"),
            MemoryFigure("docker_stats", docker_stats, "sum of `docker stats` memory (usage minus inactive file), "
                                                       "read from each container's cgroup as the engine computes it"),
        ]

    @staticmethod
    def _tree_memory(pid: int):
        """The container's processes seen from the host: its init and descendants."""
        return process_tree_memory(pid)

    def _pid(self, instance: ContainerInstance) -> int:
        return container_host_pid(instance)

    @staticmethod
    def _shim_pss(pid: int) -> int:
        import psutil

        try:
            process = psutil.Process(pid)
            for ancestor in process.parents():
                if "shim" in ancestor.name():
                    return process_memory(ancestor.pid).pss
        except psutil.Error:
            pass
        return 0

    @staticmethod
    def _docker_stats_bytes(instance: ContainerInstance) -> int:
        memory = instance.container.stats(stream=False).get("memory_stats", {})
        stats = memory.get("stats", {})
        inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
        return max(0, int(memory.get("usage", 0)) - int(inactive))

    def versions(self) -> dict[str, str]:
        version = self.client.version()
        info = self.client.info()
        runtime = self.runtime or info.get("DefaultRuntime", "")
        runtime_version = ""
        commit = info.get("RuncCommit", {}) or {}
        if runtime == "runc":
            runtime_version = commit.get("ID", "")
        return {
            "docker_engine": version.get("Version", ""),
            "docker_api": version.get("ApiVersion", ""),
            "containerd": (info.get("ContainerdCommit", {}) or {}).get("ID", ""),
            "runtime": runtime,
            "runtime_commit": runtime_version,
            "cgroup_version": str(info.get("CgroupVersion", "")),
            "cgroup_driver": info.get("CgroupDriver", ""),
            "storage_driver": info.get("Driver", ""),
            "image": self.image or "",
            "image_id": self._image_id(),
            "base_image": self.base_image or "scratch (host node and its libraries)",
        }

    def _image_id(self) -> str:
        try:
            return self.client.images.get(self.image).id if self.image else ""
        except Exception:  # informative only
            return ""

    def transport(self) -> str:
        return "NDJSON over the container's stdin/stdout via the Docker attach socket (dockerd, containerd-shim)"

    def shared_cpu_seconds(self) -> float | None:
        """dockerd and containerd so far (every thread, plus the children they
        reaped); None when the engine is not on this machine. Their growth over
        a cold start includes whatever else they served meanwhile."""
        if not engine_is_local():
            return None
        return self._daemons.seconds()

    def facts(self) -> dict:
        limits, timeout = self.limits, [s for s in (self.limits.call_timeout_s, self.limits.cpu_time_s) if s]
        return {"limits": {
            "time": f"read deadline on the attach socket, then the container is removed (SIGKILL): "
                    f"{min(timeout) if timeout else self.timeout:g} s",
            "memory": f"--memory = --memory-swap = {limits.memory_bytes} bytes (memory cgroup, OOM killer)"
                      if limits.memory_bytes is not None else "none",
            "pids": f"--pids-limit {limits.max_pids}" if limits.max_pids else "none",
            "cpus": f"--cpus {limits.cpus:g}" if limits.cpus else "none",
            "network": "--network none",
        }}

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._client is not None:
                remove_labelled_containers(self._client, self.session)
                self._client.close()
                self._client = None


# The last-resort removal of a run's containers, through the engine
# DOCKER_HOST names; if that engine is gone (it died mid-run, or the path to
# it did), through this machine's default socket too.
LOCAL_ENGINE = "unix:///var/run/docker.sock"


def remove_run_containers(run_id: str) -> list[str]:
    try:
        client = docker_client(timeout=30)
    except BackendUnavailable:
        if docker is None or os.environ.get("DOCKER_HOST", LOCAL_ENGINE) == LOCAL_ENGINE \
                or not os.path.exists(LOCAL_ENGINE[7:]):
            return []
        client = docker.DockerClient(base_url=LOCAL_ENGINE, timeout=30)
    try:
        count = remove_labelled_containers(client, run_id)
    except Exception as error:  # the last resort must not hide the run's own outcome
        return [f"containers not removed ({str(error).splitlines()[0]})"]
    finally:
        client.close()
    return [f"{count} container(s)"] if count else []
