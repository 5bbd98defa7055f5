"""Checks before a run writes anything: that some requested backend can run
here, and that the worker loads and answers in an engine (so a broken worker
is one clear error, not a failed suite). Both failures are bad input: one
line, exit 2, nothing written. Then which requested backends lack a global the
worker needs (api_exclusions): they are named once, and every trial records
them unavailable for this worker."""

from __future__ import annotations

from harness.backends import REGISTRY, BackendOptions, backend_class, create_backend
from harness.backends.base import BackendError, WorkerLoadError
from harness.errors import UsageError
from harness.measure.options import RunOptions
from harness.runtime.api_surface import exposed, global_not_defined, referenced_globals
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


def api_exclusions(options: RunOptions, report=print) -> RunOptions:
    """The options with `lacking_api` set: the requested backends that lack a
    global the worker needs.

    The worker's source names such globals (api_surface.referenced_globals);
    for each set of requested backends that lack the same ones, the worker is
    run once on one of them (in a child interpreter for an in-process engine).
    If it fails there naming a global ("the worker uses `crypto`, which is not
    defined"), every requested backend without that global is excluded, and
    one line names them and the backends that have it; when none of the
    requested backends has it, that is bad input (UsageError). A reference
    that does not fail (guarded, or never reached) excludes nothing."""
    import sys
    from dataclasses import replace

    worker = load_worker(options.worker)
    referenced = referenced_globals(worker.source)
    seen = {name: exposed(backend_class(name).host_globals, worker.form) for name in options.backends}
    lacking: dict[str, str] = {}
    tried: set[frozenset[str]] = set()
    for name in sorted(options.backends, key=_check_cost):
        missing = frozenset(referenced - seen[name])
        if name in lacking or not missing or missing in tried:
            continue
        tried.add(missing)
        used = _global_it_fails_on(name, options)
        if used is None or used not in referenced:
            continue
        have = [n for n in options.backends if used in seen[n]]
        lack = [n for n in options.backends if used not in seen[n] and n not in lacking]
        if not have:
            raise UsageError(f"worker {worker.path} uses `{used}`, which none of the requested backends "
                             f"({', '.join(options.backends)}) provide: docs/workers-api.md")
        for other in lack:
            lacking[other] = (f"the worker uses `{used}`, which {other} does not provide (provided by: "
                              f"{', '.join(have)}; docs/workers-api.md)")
        report(f"isobench: the worker uses `{used}`, which {', '.join(lack)} lack: recorded unavailable for it, "
               f"and measured where it is provided ({', '.join(have)}); docs/workers-api.md", file=sys.stderr)
    return replace(options, lacking_api=lacking) if lacking else options


def _check_cost(name: str) -> int:
    """In-process engines first (cheapest to try), then processes, then containers."""
    return ("in-process", "process", "container").index(backend_class(name).instance_class)


def _global_it_fails_on(name: str, options: RunOptions) -> str | None:
    """The global the worker's first call says this backend lacks, or None (it answered, or failed otherwise)."""
    try:
        if backend_class(name).instance_class == "in-process":
            _check_in_child(name, options)
        else:
            _check(name, options)
    except UsageError as error:
        return global_not_defined(str(error))
    return None


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
