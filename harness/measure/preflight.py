"""Checks before a run writes anything: that some requested backend can run
here, and that the worker loads and answers in an engine (so a broken worker
is one clear error, not a failed suite). Both failures are bad input: one
line, exit 2, nothing written."""

from __future__ import annotations

from harness.backends import REGISTRY, BackendOptions, backend_class, create_backend
from harness.backends.base import BackendError, WorkerLoadError
from harness.errors import UsageError
from harness.measure.options import RunOptions
from harness.runtime.worker import load_worker

# The worker is checked in a process-class backend: a worker that crashes its
# engine must not take the run manager down with it (an in-process engine
# would). Without one, the check runs in a child interpreter.
SAFE_FIRST = ("process", "container", "in-process")


def some_backend_can_run(options: RunOptions) -> None:
    reasons = []
    for name in options.backends:
        backend = create_backend(name, BackendOptions(base_image=options.base_image))
        try:
            availability = backend.availability()
        finally:
            backend.close()
        if availability.available:
            return
        reasons.append(f"{name}: {availability.reason}")
    raise UsageError("no requested backend can run here: " + "; ".join(reasons))


def worker_answers(options: RunOptions) -> None:
    candidates = [n for klass in SAFE_FIRST for n in REGISTRY if backend_class(n).instance_class == klass]
    for name in candidates:
        if backend_class(name).instance_class == "in-process":
            return _check_in_child(name, options)
        if _check(name, options):
            return


def _check_in_child(name: str, options: RunOptions) -> None:
    """The worker check in a fresh interpreter, so an engine-fatal worker ends only that."""
    import subprocess
    import sys

    from harness.paths import REPO_ROOT

    code = ("import sys; from harness.measure.preflight import _check_main; sys.exit(_check_main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, name, options.worker or ""], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300, env=_child_env(REPO_ROOT))
    if result.returncode == 0:
        return
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    if result.returncode < 0:
        raise UsageError(f"worker {load_worker(options.worker).path} crashed its engine on the first call "
                         f"({name}, signal {-result.returncode})")
    raise UsageError(lines[-1] if lines else f"the worker check failed (exit {result.returncode})")


def _child_env(root) -> dict:
    import os

    return {**os.environ, "PYTHONPATH": str(root)}


def _check_main(argv: list[str]) -> int:
    """Child side of _check_in_child: exit 0 when the worker answers; else the reason, last on stderr."""
    import sys

    name, worker = argv[0], argv[1] or None
    try:
        _check(name, RunOptions(backends=(name,), profile="smoke", worker=worker))
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


def _check(name: str, options: RunOptions) -> bool:
    """True when the worker answered on this backend; False when the backend cannot run here."""
    from harness.procedures.instances import cold_start

    worker = load_worker(options.worker)
    backend = create_backend(name)
    try:
        if not backend.availability().available:
            return False
        backend.prepare(worker)
        instance, _, _ = cold_start(backend, worker)
        instance.stop()
        return True
    except WorkerLoadError as error:
        raise UsageError(f"worker {worker.path} does not load: {error}") from None
    except BackendError as error:
        raise UsageError(f"worker {worker.path} fails on its first call: {error}") from None
    finally:
        backend.close()
