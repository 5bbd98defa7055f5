"""`container-gvisor` and `container-crun`: the `container` backend (same
image, same runner, same attach-socket transport, same flags) with another OCI
runtime under dockerd, chosen with `docker run --runtime`.

The runtimes are registered in dockerd by workloads/runtimes/setup-runtimes.sh
(never silently by the harness): `isobench-runsc` is gVisor's runsc with
`--network=none`, `isobench-crun` is crun behind crun-hybrid-wrapper (see that
file for why it exists).
"""

from __future__ import annotations

import re

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.backends.base import Availability, BackendUnavailable
from harness.backends.container import ContainerBackend, engine_is_local
from harness.paths import REPO_ROOT
from harness.backends.memory_probes import ZERO, process_tree_memory

RUNTIMES_DIR = REPO_ROOT / "workloads" / "runtimes"
SETUP = "sh workloads/runtimes/setup-runtimes.sh"
CRUN_WRAPPER = RUNTIMES_DIR / "crun-hybrid-wrapper"


@dataclass(frozen=True)
class DockerRuntime:
    registered_as: str  # the name in dockerd's "runtimes"
    binary: str  # the runtime the registration runs
    package: str  # Debian package
    required_args: tuple[str, ...] = ()  # runtimeArgs the registration must carry
    wrapper: Path | None = None  # the repo file the registered path must be a copy of


RUNSC = DockerRuntime("isobench-runsc", "runsc", "runsc", required_args=("--network=none",))
CRUN = DockerRuntime("isobench-crun", "crun", "crun", wrapper=CRUN_WRAPPER)


def runtime_version(binary: str) -> str:
    """The first line of `binary --version`, or why there is none."""
    try:
        output = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return f"unknown ({error})"
    return output.strip().splitlines()[0] if output.strip() else "unknown"


def wrapper_overhead_ms(wrapper: Path, binary: str = "crun", rounds: int = 15) -> dict:
    """What the wrapper adds to each runtime invocation: `binary --version`
    run directly and through the wrapper, interleaved, medians in ms."""
    import statistics
    import time

    samples: dict[str, list[float]] = {"direct": [], "wrapped": []}
    try:
        for _ in range(rounds):
            for kind, command in (("direct", [binary]), ("wrapped", [str(wrapper)])):
                started = time.perf_counter()
                subprocess.run([*command, "--version"], capture_output=True, timeout=30, check=True)
                samples[kind].append((time.perf_counter() - started) * 1e3)
    except (OSError, subprocess.SubprocessError) as error:
        return {"error": str(error).split("\n")[0]}
    direct, wrapped = (statistics.median(samples[kind]) for kind in ("direct", "wrapped"))
    return {"median_ms": wrapped - direct, "direct_median_ms": direct, "wrapped_median_ms": wrapped,
            "n": rounds, "how": f"`{binary} --version` directly and through {wrapper.name}, interleaved"}


def registration_problem(runtime: DockerRuntime, registered: dict) -> str:
    """Why dockerd cannot run this runtime as isobench needs it ('' if it can),
    with the command that fixes it."""
    fix = f"run `{SETUP}` as root (it registers the runtime in /etc/docker/daemon.json and reloads dockerd with SIGHUP)"
    local = engine_is_local()
    if local and not shutil.which(runtime.binary):
        return f"{runtime.binary} is not installed: `apt-get install -y {runtime.package}`, then {fix}"
    entry = registered.get(runtime.registered_as)
    if entry is None:
        return f"dockerd has no runtime {runtime.registered_as!r} registered: {fix}"
    args = entry.get("runtimeArgs") or []
    missing = [arg for arg in runtime.required_args if arg not in args]
    if missing:
        return f"dockerd's runtime {runtime.registered_as!r} lacks {' '.join(missing)} in its runtimeArgs: {fix}"
    path = entry.get("path", "")
    if local and runtime.wrapper is not None:
        if not os.access(path, os.X_OK):
            return f"dockerd's runtime {runtime.registered_as!r} points at {path}, which is not executable: {fix}"
        if Path(path).read_bytes() != runtime.wrapper.read_bytes():
            return f"{path} differs from {runtime.wrapper.relative_to(REPO_ROOT)} (stale copy): {fix}"
    return ""


class DockerRuntimeBackend(ContainerBackend):
    """ContainerBackend with runtime=; adds the registration check and the runtime's version."""

    RUNTIME: DockerRuntime

    def __init__(self, **options) -> None:
        super().__init__(runtime=self.RUNTIME.registered_as, **options)

    def availability(self) -> Availability:
        try:
            registered = self.client.info().get("Runtimes") or {}
        except BackendUnavailable as error:
            return Availability(False, str(error))
        problem = registration_problem(self.RUNTIME, registered)
        return Availability(False, problem) if problem else super().availability()

    def versions(self) -> dict[str, str]:
        entry = (self.client.info().get("Runtimes") or {}).get(self.RUNTIME.registered_as, {})
        return {
            **super().versions(),
            "runtime_version": runtime_version(self.RUNTIME.binary),
            "runtime_path": entry.get("path", ""),
            "runtime_args": " ".join(entry.get("runtimeArgs") or []),
        }

    def transport(self) -> str:
        return super().transport() + f", runtime {self.RUNTIME.binary}"

    def facts(self) -> dict:
        facts = dict(super().facts())
        if self.RUNTIME.wrapper is not None and engine_is_local():
            facts["wrapper_overhead_ms"] = wrapper_overhead_ms(self.RUNTIME.wrapper, self.RUNTIME.binary)
        return facts


def gvisor_platform(runtime_args: str, binary: str) -> str:
    """The platform runsc runs the sandbox on: --platform in its registered
    arguments, else its own default (`runsc flags`)."""
    for part in runtime_args.split():
        if part.startswith("--platform="):
            return part.split("=", 1)[1] + " (registered argument)"
    try:
        found = subprocess.run([binary, "flags"], capture_output=True, text=True, timeout=20)
        listed = found.stdout + found.stderr
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    match = re.search(r'-platform string\s+.*?\(default "([^"]+)"\)', listed, re.S)
    return f"{match.group(1)} (runsc's default)" if match else "unknown"


class GvisorContainerBackend(DockerRuntimeBackend):
    name = "container-gvisor"
    summary = ("a fresh Docker container per instance under gVisor (runsc, its own user-space kernel; "
               "--network none) running the same node runner")
    RUNTIME = RUNSC
    described_as = "a gVisor container"
    family = "sandboxed-container"
    roles = ("gvisor-container",)

    def versions(self) -> dict[str, str]:
        found = super().versions()
        found["platform"] = gvisor_platform(found.get("runtime_args", ""), self.RUNTIME.binary)
        return found
    # Measured: runsc create joins the container's cpuacct cgroup before it
    # starts runsc-gofer and runsc-sandbox, so both (and the Sentry's stub
    # processes) run inside it from birth; only the shim stays outside.
    cpu_scope = ("the harness process + the container's cgroup (cpuacct: runsc-sandbox with the Sentry and its "
                 "stubs, and runsc-gofer) + its containerd-shim's threads and the runsc create/start it reaped "
                 "+ dockerd and containerd growth (threads, and helpers they reaped)")

    @staticmethod
    def _tree_memory(pid: int):
        """Docker's pid for a gVisor container is runsc-sandbox (the Sentry and
        its stub processes below it); runsc-gofer, which serves its files, is a
        sibling under the same containerd-shim. Count every process under the
        shim, as the memory cgroup does."""
        try:
            shim = next(p for p in psutil.Process(pid).parents() if "shim" in p.name())
        except (StopIteration, psutil.Error):
            return process_tree_memory(pid)
        total = ZERO
        for child in shim.children():
            total = total + process_tree_memory(child.pid)
        return total


class CrunContainerBackend(DockerRuntimeBackend):
    name = "container-crun"
    summary = "a fresh Docker container per instance under crun instead of runc, running the same node runner"
    RUNTIME = CRUN
    described_as = "a Docker container under crun"
    roles = ()
    cpu_scope = ("the harness process + the container's cgroup (cpuacct) + its containerd-shim's threads and "
                 "the crun (and its wrapper) it reaped + dockerd and containerd growth (threads, and helpers "
                 "they reaped)")
