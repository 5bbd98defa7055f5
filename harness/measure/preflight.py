"""Checks before a run writes anything: that some requested backend can run
here, and that the worker loads and answers in an engine (so a broken worker
is one clear error, not a failed suite). Both failures are bad input: one
line, exit 2, nothing written."""

from __future__ import annotations

from harness.backends import REGISTRY, BackendOptions, backend_class, create_backend
from harness.backends.base import BackendError, WorkerLoadError
from harness.errors import UsageError
from harness.options import RunOptions
from harness.runtime.worker import load_worker

CHEAP_FIRST = ("in-process", "process")  # instance classes tried first for the worker check


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
    from harness.measure.procedures import cold_start

    worker = load_worker(options.worker)
    candidates = sorted(REGISTRY, key=lambda n: (CHEAP_FIRST + (backend_class(n).instance_class,)).index(
        backend_class(n).instance_class))
    for name in candidates:
        if backend_class(name).instance_class not in CHEAP_FIRST:
            continue
        backend = create_backend(name)
        try:
            if not backend.availability().available:
                continue
            backend.prepare(worker)
            instance, _, _ = cold_start(backend, worker)
            instance.stop()
            return
        except WorkerLoadError as error:
            raise UsageError(f"worker {worker.path} does not load: {error}") from None
        except BackendError as error:
            raise UsageError(f"worker {worker.path} fails on its first call: {error}") from None
        finally:
            backend.close()
