"""`subprocess-deno`: a fresh Deno process per instance, running the node
runner (harness/runtime/node_runner.js) through Deno's node compatibility, so
the NDJSON protocol, the phases and the limits are `subprocess`'s.

Deno loads a CommonJS file only by its `.cjs` name, so prepare() copies the
runner into a scratch folder as node_runner.cjs. Deno runs it with no
permissions (`--no-prompt`: a worker that reaches for the file system or the
network fails rather than asking) and its own cache folder (DENO_DIR) in that
scratch folder, so the host's ~/.cache/deno plays no part. prepare() runs one
untimed start, which fills that cache (Deno's V8 code cache of the runner),
so every timed start finds it, as on a host that has run Deno before.
DENO_NO_UPDATE_CHECK stops Deno looking for a newer release.

The binary is the one in Deno's npm package (workloads/engines), run directly:
Deno's documentation warns that the npm launcher shim slows start-up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile

from harness.backends.base import remove_orphan_scratch, scratch_folder
from harness.backends.npm_engines import DENO, INSTALL_HINT, engine_binary
from harness.backends.node_process import NODE_RUNNER, NodeProcessBackend, remove_cgroups
from harness.runtime.worker import Worker

RUNNER_NAME = "node_runner.cjs"


class DenoProcessBackend(NodeProcessBackend):
    name = "subprocess-deno"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: Deno's web APIs and its node compatibility's globals.
    host_globals = frozenset({
        "crypto", "TextEncoder", "TextDecoder", "setTimeout", "setInterval", "clearTimeout", "clearInterval",
        "setImmediate", "queueMicrotask", "structuredClone", "atob", "btoa", "performance", "navigator",
        "self", "Buffer", "process", "global", "Deno", "caches", "WebSocket", "URLPattern", "ReadableStream",
        "WritableStream", "TransformStream", "Blob", "FormData", "File", "AbortController", "AbortSignal",
        "EventTarget", "Event", "MessageChannel", "BroadcastChannel", "WebAssembly", "Intl",
        "SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry", "Headers", "URLSearchParams",
        "URL", "Request", "Response", "console", "fetch",
    })
    summary = "a fresh Deno process per instance (V8), running the node runner through Deno's node compatibility"
    described_as = "a Deno process"
    roles = ()
    runtime = "deno"
    memory_limit_by_cgroup = True  # it does not start under an RLIMIT_DATA of 128 MiB (Deno: ~1 GiB, Bun: ~512 MiB)
    runner_marks = (RUNNER_NAME,)
    cpu_scope = ("the harness process, plus the deno process tree since spawn: its CPU-time clock (all threads, "
                 "ns) and the children it reaped (clock ticks)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.folder: Path | None = None
        self.env = {**self.env, "DENO_NO_UPDATE_CHECK": "1", "NO_COLOR": "1"}

    @classmethod
    def default_program(cls) -> str:
        return str(engine_binary(DENO))

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return remove_orphan_scratch("deno") + remove_cgroups(cls.runtime)

    def install_hint(self) -> str:
        return f": {INSTALL_HINT}"

    def prepare(self, worker: Worker) -> None:
        if self.folder is None:
            self.folder = scratch_folder("deno")
            shutil.copyfile(NODE_RUNNER, self.folder / RUNNER_NAME)
            self.env["DENO_DIR"] = str(self.folder / "deno-dir")
            warm = self.spawn_runner()  # fills DENO_DIR, untimed
            try:
                warm.await_ready()
            finally:
                warm.stop()

    def runner_command(self, worker: Worker | None = None) -> list[str]:
        if self.folder is None:
            raise RuntimeError("subprocess-deno: prepare() must run before start()")
        return [self.node, "run", "--no-prompt", str(self.folder / RUNNER_NAME)]

    def versions(self) -> dict[str, str]:
        with tempfile.TemporaryDirectory(prefix="isobench-deno-versions-") as cache:  # leaves no cache behind
            output = subprocess.run([self.node, "eval", "console.log(JSON.stringify({...Deno.version, "
                                     "node_compat: process.versions.node}))"],
                                    capture_output=True, text=True, timeout=30, env={**self.env, "DENO_DIR": cache}).stdout
        return {**json.loads(output), "deno_path": self.node}

    def transport(self) -> str:
        return "NDJSON over the child's stdin/stdout pipes (the node runner, under Deno's node compatibility)"

    def close(self) -> None:
        super().close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
