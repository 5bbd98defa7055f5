"""`subprocess`: a fresh node process per instance, spoken to over stdin/stdout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from harness.backends.base import (
    PER_CALLER,
    Availability,
    Backend,
    BackendError,
    Instance,
    MemoryFigure,
    PhaseClock,
)
from harness.backends.ndjson import PipeChannel, RunnerInstance
from harness.environment import child_environment
from harness.memory import process_tree_memory
from harness.worker import RUNTIME_DIR, Worker

NODE_RUNNER = RUNTIME_DIR / "node_runner.js"


class NodeProcessInstance(RunnerInstance):
    def __init__(self, process: subprocess.Popen, timeout: float) -> None:
        super().__init__(PipeChannel(process.stdin.fileno(), process.stdout.fileno()), timeout)
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    def _release(self) -> None:
        end_process(self.process)


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
    summary = "a fresh node process per instance; NDJSON over stdin/stdout pipes"
    instance_class = "process"
    # Separate processes, separate pipes. The NDJSON protocol has no request
    # ids, so one instance serves one caller at a time.
    concurrency_modes = (PER_CALLER,)

    def __init__(self, node: str | None = None, inherit_env: tuple[str, ...] = (), timeout: float = 30.0):
        self.node = node or shutil.which("node") or "/usr/bin/node"
        self.env = child_environment(inherit_env)
        self.timeout = timeout
        self.live: set[Instance] = set()

    def availability(self) -> Availability:
        if not os.access(self.node, os.X_OK):
            return Availability(False, f"node not found at {self.node}")
        try:
            subprocess.run([self.node, "--version"], capture_output=True, timeout=30, check=True, env=self.env)
        except (OSError, subprocess.SubprocessError) as error:
            return Availability(False, f"{self.node} --version failed: {error}")
        return Availability(True)

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        process = subprocess.Popen(
            [self.node, str(NODE_RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            start_new_session=True,  # Ctrl-C reaches the harness, which cleans up
        )
        instance = NodeProcessInstance(process, self.timeout)
        instance.track(self.live)
        clock.mark("spawn")
        try:
            instance.await_ready()
            clock.mark("runtime_ready")
            instance.load(worker.bundle, worker.path.name)
            clock.mark("load_worker")
        except BackendError as error:
            detail = _describe_exit(process)
            instance.stop()
            raise type(error)(f"{error}{detail}") from None
        return instance

    def memory(self, instances: list[Instance]) -> list[MemoryFigure]:
        total = None
        for instance in instances:
            tree = process_tree_memory(instance.pid)
            total = tree if total is None else total + tree
        if total is None:
            return []
        scope = "sum over each instance's node process tree"
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


def _describe_exit(process: subprocess.Popen) -> str:
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
    return f" (node exited with {code}{': ' + last[0] if last else ''})"
