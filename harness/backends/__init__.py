"""The registry of backends: name -> the class that implements it.

Adding a backend:
1. Write one module here with a `Backend` subclass (harness/backends/base.py):
   set `name`, `summary`, `described_as`, `family`, `instance_class` (and
   `concurrency_modes`, `cpu_scope`, `runner_marks` where they apply);
   implement `availability`, `start`, `memory` and `versions`; override
   `from_options` if it takes more than `limits`, and `cleanup` if a crashed
   run can leave something of it behind.
2. Add one line to REGISTRY below.
Nothing else names a backend: reports, comparisons and the cleanup read what
the class declares (and what a run recorded of it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from harness.backends.base import Backend, Limits

REGISTRY = {
    "isolate": "harness.backends.isolate:IsolateBackend",
    "subprocess": "harness.backends.node_process:NodeProcessBackend",
    "subprocess-codecache": "harness.backends.node_codecache:NodeCodeCacheBackend",
    "subprocess-snapshot": "harness.backends.node_snapshot:NodeSnapshotBackend",
    "subprocess-deno": "harness.backends.deno_process:DenoProcessBackend",
    "subprocess-bun": "harness.backends.bun_process:BunProcessBackend",
    "container": "harness.backends.container:ContainerBackend",
    "container-gvisor": "harness.backends.container_runtimes:GvisorContainerBackend",
    "container-crun": "harness.backends.container_runtimes:CrunContainerBackend",
    "oci-runc": "harness.backends.oci:OciRuncBackend",
    "oci-crun": "harness.backends.oci:OciCrunBackend",
    "wasm": "harness.backends.wasm:WasmBackend",
    "wasm-wizer": "harness.backends.wasm_wizer:WasmWizerBackend",
    "subprocess-prefork": "harness.backends.prefork:PreforkBackend",
    "isolate-stpyv8": "harness.backends.isolate_stpyv8:IsolateStpyv8Backend",
    "isolate-context": "harness.backends.isolate_context:IsolateContextBackend",
    "isolate-node": "harness.backends.isolate_node:IsolateNodeBackend",
    "workerd": "harness.backends.workerd:WorkerdBackend",
}
DEFAULT_BACKENDS = ("isolate", "subprocess", "container")


@dataclass(frozen=True)
class BackendOptions:
    base_image: str | None = None  # container: a registry image instead of scratch
    cpuset: str | None = None  # container: cpuset matching --pin
    inherit_env: tuple[str, ...] = ()  # process backends: host variables passed through
    run_id: str | None = None  # labels (containers) and names (OCI bundles) of this run
    limits: Limits = field(default_factory=Limits)  # enforced by every backend (hostile workers)


def backend_class(name: str) -> type[Backend]:
    module, _, attribute = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def parse_backend_names(text: str) -> list[str]:
    """'isolate,container' or 'all' -> names; ValueError names the unknown ones."""
    names = list(REGISTRY) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [name for name in names if name not in REGISTRY]
    if unknown or not names:
        raise ValueError(f"unknown backend(s) {', '.join(unknown) or '(none)'}; known: {', '.join(REGISTRY)}, all")
    return list(dict.fromkeys(names))


def create_backend(name: str, options: BackendOptions | None = None) -> Backend:
    return backend_class(name).from_options(options or BackendOptions())


def family_index(name: str) -> int:
    """The backend's position among the registered backends of its family (it picks its colour)."""
    family = backend_class(name).family
    return [n for n in REGISTRY if backend_class(n).family == family].index(name)
