"""The registry of backends: name -> constructor."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.backends.base import Backend, Limits


@dataclass(frozen=True)
class BackendOptions:
    base_image: str | None = None  # container: a registry image instead of scratch
    cpuset: str | None = None  # container: cpuset matching --pin
    inherit_env: tuple[str, ...] = ()  # subprocess: host variables passed through
    run_id: str | None = None  # container: labels every container of this run
    limits: Limits = field(default_factory=Limits)  # enforced by every backend (hostile workers)


def _isolate(options: BackendOptions) -> Backend:
    from harness.backends.isolate import IsolateBackend

    return IsolateBackend(limits=options.limits)


def _subprocess(options: BackendOptions) -> Backend:
    from harness.backends.node_process import NodeProcessBackend

    return NodeProcessBackend(inherit_env=options.inherit_env, limits=options.limits)


def _container(options: BackendOptions) -> Backend:
    from harness.backends.container import ContainerBackend

    return ContainerBackend(base_image=options.base_image, cpuset=options.cpuset, session=options.run_id,
                            limits=options.limits)


def _container_runtime(class_name: str):
    """container-gvisor / container-crun: the container backend under another OCI runtime."""
    def make(options: BackendOptions) -> Backend:
        from harness.backends import container_runtimes

        return getattr(container_runtimes, class_name)(
            base_image=options.base_image, cpuset=options.cpuset, session=options.run_id, limits=options.limits)
    return make


def _oci(runtime: str):
    """oci-runc / oci-crun: the same image as an OCI bundle, run by the runtime itself (no dockerd)."""
    def make(options: BackendOptions) -> Backend:
        from harness.backends.oci import OciBackend

        return OciBackend(runtime, cpuset=options.cpuset, session=options.run_id, limits=options.limits)
    return make


def _wasm(options: BackendOptions) -> Backend:
    from harness.backends.wasm import WasmBackend

    return WasmBackend(limits=options.limits)


def _subprocess_prefork(options: BackendOptions) -> Backend:
    from harness.backends.prefork import PreforkBackend

    return PreforkBackend(inherit_env=options.inherit_env, limits=options.limits)


def _isolate_stpyv8(options: BackendOptions) -> Backend:
    from harness.backends.isolate_stpyv8 import IsolateStpyv8Backend

    return IsolateStpyv8Backend(limits=options.limits)


def _isolate_context(options: BackendOptions) -> Backend:
    from harness.backends.isolate_context import IsolateContextBackend

    return IsolateContextBackend(limits=options.limits)


def _workerd(options: BackendOptions) -> Backend:
    from harness.backends.workerd import WorkerdBackend

    return WorkerdBackend(limits=options.limits)


FACTORIES = {"isolate": _isolate, "subprocess": _subprocess, "container": _container}
FACTORIES.update({
    "container-gvisor": _container_runtime("GvisorContainerBackend"),
    "container-crun": _container_runtime("CrunContainerBackend"),
    "oci-runc": _oci("runc"),
    "oci-crun": _oci("crun"),
})
FACTORIES.update({"wasm": _wasm, "subprocess-prefork": _subprocess_prefork})
FACTORIES.update({"isolate-stpyv8": _isolate_stpyv8, "isolate-context": _isolate_context, "workerd": _workerd})
DEFAULT_BACKENDS = ("isolate", "subprocess", "container")


def parse_backend_names(text: str) -> list[str]:
    """'isolate,container' or 'all' -> names; ValueError names the unknown ones."""
    names = list(FACTORIES) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [name for name in names if name not in FACTORIES]
    if unknown or not names:
        raise ValueError(f"unknown backend(s) {', '.join(unknown) or '(none)'}; known: {', '.join(FACTORIES)}, all")
    return list(dict.fromkeys(names))


def create_backend(name: str, options: BackendOptions | None = None) -> Backend:
    return FACTORIES[name](options or BackendOptions())
