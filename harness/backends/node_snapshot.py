"""`subprocess-snapshot`: `subprocess` started from a V8 start-up snapshot
that already holds the prelude and the worker (node's user-land snapshot,
`node --build-snapshot`, node 18.8 and later).

prepare() builds one snapshot per worker, untimed, in a node process of its
own: `node --snapshot-blob W.blob --build-snapshot node_runner.js`, with the
bundle's path in ISOBENCH_SNAPSHOT_BUNDLE. The runner evaluates the bundle
(its top level runs, its handler registers) and sets its serving loop as the
snapshot's main function (harness/runtime/node_runner.js). Every start is then
`node --snapshot-blob W.blob`: node deserializes the heap with the worker in
it and serves at once. The ready message names the worker's sha256, which the
start checks, so no instance can serve another worker's snapshot.

Phases: `spawn` (Popen returns), `runtime_ready` (node started and
deserialized the snapshot, worker included, and its ready line arrived). There
is no `load_worker` phase: nothing is sent. The cold start's timer is
`subprocess`'s, from start() to the first answer.

A worker that node cannot snapshot (its limits: only built-in modules, some of
them unverified in a snapshot) makes the backend unavailable for that workload,
with node's reason; the snapshot files live in a scratch folder that close()
removes.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from harness.backends.base import (BackendError, BackendUnavailable, PhaseClock, WorkerLoadError,
                                   remove_orphan_scratch, scratch_folder)
from harness.backends.node_process import NODE_RUNNER, NodeProcessBackend, NodeProcessInstance
from harness.runtime.worker import Worker

BUILD_TIMEOUT_S = 120.0
WORKER_ERROR, WORKER_ERROR_EXIT = "isobench-worker-error:", 3  # the runner's answer for a worker that does not load
SNAPSHOT_ERROR, SNAPSHOT_ERROR_EXIT = "isobench-snapshot-error:", 4  # ... for one that leaves pending work


class NodeSnapshotBackend(NodeProcessBackend):
    name = "subprocess-snapshot"
    summary = ("subprocess, started from a V8 start-up snapshot holding the prelude and the worker "
               "(node --build-snapshot in prepare; no load phase)")
    described_as = "a node process from a start-up snapshot"
    roles = ()
    variant_of = "subprocess"
    runner_marks = ("--snapshot-blob",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.folder: Path | None = None
        self.blobs: dict[str, Path] = {}  # worker sha256 -> snapshot blob
        self.build_s: dict[str, float] = {}

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return remove_orphan_scratch("snapshot")

    def prepare(self, worker: Worker) -> None:
        if worker.sha256 in self.blobs:
            return
        if self.folder is None:
            self.folder = scratch_folder("snapshot")
        key = worker.sha256[:16]
        bundle, blob = self.folder / f"{key}.js", self.folder / f"{key}.blob"
        bundle.write_text(worker.bundle)
        env = {**self.env, "ISOBENCH_SNAPSHOT_BUNDLE": str(bundle), "ISOBENCH_SNAPSHOT_SHA256": worker.sha256,
               "ISOBENCH_SNAPSHOT_FILENAME": worker.path.name}
        began = time.perf_counter()
        try:
            built = subprocess.run([self.node, "--snapshot-blob", str(blob), "--build-snapshot", str(NODE_RUNNER)],
                                   capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=env,
                                   cwd=self.folder)
        except subprocess.TimeoutExpired:
            raise BackendUnavailable(f"node --build-snapshot did not finish within {BUILD_TIMEOUT_S:g} s") from None
        finally:
            bundle.unlink(missing_ok=True)
        if built.returncode == WORKER_ERROR_EXIT:
            line = next((l for l in built.stderr.splitlines() if l.startswith(WORKER_ERROR)), "")
            raise WorkerLoadError(line[len(WORKER_ERROR):].strip() or "the worker did not load")
        if built.returncode == SNAPSHOT_ERROR_EXIT:
            line = next((l for l in built.stderr.splitlines() if l.startswith(SNAPSHOT_ERROR)), "")
            raise BackendUnavailable(f"node cannot snapshot this worker: {line[len(SNAPSHOT_ERROR):].strip()}")
        if built.returncode != 0 or not blob.is_file():
            raise BackendUnavailable(f"node cannot snapshot this worker: {_node_reason(built.stderr)}")
        self.build_s[worker.sha256] = time.perf_counter() - began
        self.blobs[worker.sha256] = blob

    def runner_command(self, worker: Worker | None = None) -> list[str]:
        if worker is None:
            return super().runner_command()
        if worker.sha256 not in self.blobs:
            self.prepare(worker)  # untimed callers prepare first; this keeps a direct start() working
        return [self.node, "--snapshot-blob", str(self.blobs[worker.sha256])]

    def load_worker(self, instance: NodeProcessInstance, worker: Worker, clock: PhaseClock) -> None:
        """Nothing to load: the snapshot holds the worker, as its ready line says."""
        preloaded = instance.runner_info.get("preloaded")
        if preloaded != worker.sha256:
            raise BackendError(f"the snapshot holds worker {str(preloaded)[:12]}, not {worker.sha256[:12]}")

    def facts(self) -> dict:
        blobs = {sha[:12]: {"bytes": path.stat().st_size, "build_s": round(self.build_s.get(sha, 0.0), 3)}
                 for sha, path in self.blobs.items() if path.exists()}
        return {**super().facts(), "snapshots": blobs}

    def close(self) -> None:
        super().close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
            self.blobs.clear()


def _node_reason(stderr: str) -> str:
    """node's error line: the first line naming an error, else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and "--trace-warnings" not in line]
    named = [line for line in lines if "Error" in line or "error" in line]
    return (named or lines or ["no output"])[0][:300]
