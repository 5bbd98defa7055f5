"""`subprocess-bun`: a fresh Bun process per instance. Bun's engine is
JavaScriptCore (WebKit's), not V8: the in-engine figure is JSC's. It runs the
node runner (harness/runtime/node_runner.js) unchanged, through Bun's node
compatibility, so the NDJSON protocol, the phases and the limits are
`subprocess`'s.

The binary is the one in Bun's npm package (workloads/engines), run directly.
DO_NOT_TRACK turns off Bun's telemetry.
"""

from __future__ import annotations

import json
import subprocess

from harness.backends.npm_engines import BUN, INSTALL_HINT, engine_binary
from harness.backends.node_process import NodeProcessBackend, remove_cgroups


class BunProcessBackend(NodeProcessBackend):
    name = "subprocess-bun"
    # The globals of api_surface.CANDIDATES its engine exposes to a worker: Bun's web APIs and node globals.
    host_globals = frozenset({
        "crypto", "TextEncoder", "TextDecoder", "setTimeout", "setInterval", "clearTimeout", "clearInterval",
        "setImmediate", "queueMicrotask", "structuredClone", "atob", "btoa", "performance", "navigator",
        "self", "Buffer", "process", "global", "Bun", "HTMLRewriter", "WebSocket", "URLPattern",
        "ReadableStream", "WritableStream", "TransformStream", "Blob", "FormData", "File", "AbortController",
        "AbortSignal", "EventTarget", "Event", "MessageChannel", "BroadcastChannel", "WebAssembly", "Intl",
        "SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry", "Headers", "URLSearchParams",
        "URL", "Request", "Response", "console", "fetch",
    })
    summary = "a fresh Bun process per instance (JavaScriptCore, not V8), running the node runner"
    described_as = "a Bun process"
    roles = ("bun-process",)
    runtime = "bun"
    memory_limit_by_cgroup = True  # it does not start under an RLIMIT_DATA of 128 MiB (Deno: ~1 GiB, Bun: ~512 MiB)
    cpu_scope = ("the harness process, plus the bun process tree since spawn: its CPU-time clock (all threads, "
                 "ns) and the children it reaped (clock ticks)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env = {**self.env, "DO_NOT_TRACK": "1", "NO_COLOR": "1"}

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return remove_cgroups(cls.runtime)

    @classmethod
    def default_program(cls) -> str:
        return str(engine_binary(BUN))

    def install_hint(self) -> str:
        return f": {INSTALL_HINT}"

    def versions(self) -> dict[str, str]:
        output = subprocess.run([self.node, "-e", "console.log(JSON.stringify({bun: process.versions.bun, "
                                 "webkit: process.versions.webkit, node_compat: process.versions.node}))"],
                                capture_output=True, text=True, timeout=30, env=self.env).stdout
        return {**json.loads(output), "engine": "JavaScriptCore", "bun_path": self.node}

    def transport(self) -> str:
        return "NDJSON over the child's stdin/stdout pipes (the node runner, under Bun's node compatibility)"
