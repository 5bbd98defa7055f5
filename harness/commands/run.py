"""`run`: run the pytest-benchmark suites in bench/ and write a results file."""

from __future__ import annotations

import argparse
import datetime
import signal
import sys
import uuid
from pathlib import Path

from harness.commands.output import output_folder
from harness.paths import REPO_ROOT
from harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_SKIPPED, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run the suites and write a results file")
    parser.add_argument("--backends", default="isolate,subprocess,container",
                        help="comma-separated backends, or 'all' (default: %(default)s)")
    parser.add_argument("--profile", default="quick",
                        help="quick (CI, ~2 min), full (reference figures) or smoke (tests only) (default: %(default)s)")
    parser.add_argument("--worker", default=None, help="worker file (default: workloads/hello/worker.js)")
    parser.add_argument("--out", default="results", help="folder for the results file (default: %(default)s)")
    parser.add_argument("--pin", default=None, metavar="CPUS",
                        help="pin the harness and its children (and containers) to these CPUs, e.g. 0 or 0-1")
    parser.add_argument("--base-image", default=None,
                        help="container backend: build FROM this registry image (e.g. node:20-slim) instead of scratch")
    parser.add_argument("--inherit-env", default="", metavar="VARS",
                        help="comma-separated host variables that child processes keep (default: none)")
    parser.add_argument("--run-id", default=None,
                        help="label value for this run's containers (default: date and a random suffix)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's full output")
    # Test-only (hidden): BACKEND=MS sleeps in that backend's start; recorded as injected.
    parser.add_argument("--inject-start-delay", default="", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def _validate_run_args(args) -> None:
    from harness.backends import parse_backend_names
    from harness.measure.pinning import parse_cpus
    from harness.measure.injection import parse_start_delays
    from harness.measure.profiles import get_profile
    from harness.runtime.worker import WorkerError, load_worker

    try:
        names = parse_backend_names(args.backends)
        parse_start_delays(args.inject_start_delay, names)
        get_profile(args.profile)
        if args.pin:
            parse_cpus(args.pin)
        worker = load_worker(args.worker)
    except (ValueError, WorkerError) as error:
        raise UsageError(str(error)) from None
    _some_backend_can_run(names, args.base_image)
    _preflight(worker)


def _some_backend_can_run(names: list[str], base_image: str | None) -> None:
    """Nothing to measure is bad input (for instance `--backends container`
    with no Docker engine): one line, nothing written. With at least one
    backend that can run, the others are skipped with their reason (exit 3)."""
    from harness.backends import BackendOptions, create_backend

    reasons = []
    for name in names:
        backend = create_backend(name, BackendOptions(base_image=base_image))
        try:
            availability = backend.availability()
        finally:
            backend.close()
        if availability.available:
            return
        reasons.append(f"{name}: {availability.reason}")
    raise UsageError("no requested backend can run here: " + "; ".join(reasons))


def _preflight(worker) -> None:
    """Load and call the worker once in an engine, so that a broken worker is
    one clear error instead of a failed suite."""
    from harness.backends import create_backend
    from harness.backends.base import BackendError, WorkerLoadError
    from harness.measure.procedures import cold_start

    for name in ("isolate", "subprocess"):
        backend = create_backend(name)
        try:
            if not backend.availability().available:
                continue
            instance, _, _ = cold_start(backend, worker)
            instance.stop()
            return
        except WorkerLoadError as error:
            raise UsageError(f"worker {worker.path} does not load: {error}") from None
        except BackendError as error:
            raise UsageError(f"worker {worker.path} fails on its first call: {error}") from None
        finally:
            backend.close()


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args) -> int:
    import pytest

    from harness.measure.cleanup import clean_up_run
    from harness.measure.progress import note
    from harness.results.store import ResultsError, load, save
    from harness.analysis.summary import summarize_results, to_markdown

    _validate_run_args(args)
    out_dir = output_folder(args.out)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id = args.run_id or f"{stamp}-{uuid.uuid4().hex[:8]}"
    final = out_dir / f"{stamp}-{args.profile}.json"
    scratch = out_dir / f".{final.name}.pytest-benchmark.tmp"

    pytest_args = [
        str(REPO_ROOT / "bench"), "-p", "no:cacheprovider", "-s", f"--rootdir={REPO_ROOT}",
        f"--benchmark-json={scratch}", "--benchmark-columns=min,median,iqr,max,rounds",
        "--benchmark-sort=name", f"--isobench-backends={args.backends}",
        f"--isobench-profile={args.profile}", f"--isobench-inherit-env={args.inherit_env}",
        f"--isobench-run-id={run_id}",
        "-q" if not args.verbose else "-v", "-rs",
    ]
    if args.worker:
        pytest_args.append(f"--isobench-worker={Path(args.worker).resolve()}")
    if args.pin:
        pytest_args.append(f"--isobench-pin={args.pin}")
    if args.base_image:
        pytest_args.append(f"--isobench-base-image={args.base_image}")
    if args.inject_start_delay:
        pytest_args.append(f"--isobench-inject-start-delay={args.inject_start_delay}")

    note(f"isobench run: backends={args.backends} profile={args.profile} -> {final}")
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        code = int(pytest.main(pytest_args))
    finally:
        signal.signal(signal.SIGTERM, previous)
        leftovers = clean_up_run(run_id, containers="container" in args.backends or args.backends == "all")
        if leftovers:
            print(f"isobench: removed what the run left behind: {', '.join(leftovers)}", file=sys.stderr)

    if not scratch.exists():
        print("isobench: no results were recorded", file=sys.stderr)
        return EXIT_INTERRUPTED if code == 2 else (code or EXIT_FAILED)
    try:
        results = load(scratch)
    except ResultsError as error:
        print(f"isobench: error: pytest-benchmark wrote an unusable file: {error}", file=sys.stderr)
        return EXIT_FAILED
    save(results, final)
    save(results, out_dir / "latest.json")
    scratch.unlink()

    summary = summarize_results(results)
    print()
    print(to_markdown(summary), end="")
    print(f"\nresults: {final} (status: {results.status})")
    if results.record.get("injected"):
        print(f"isobench: WARNING: injected faults (test only, not a real measurement): "
              f"{results.record['injected']}", file=sys.stderr)
    for name, status in results.record.get("backends", {}).items():
        if status.get("failed"):
            print(f"isobench: {name} failed ({status.get('failures', 1)} measurement(s)): {status['failed']}",
                  file=sys.stderr)
    unavailable = [name for name, entry in summary["backends"].items() if not entry["available"]]
    if code == 2 or results.status == "interrupted":
        return EXIT_INTERRUPTED
    if code not in (0, 5):
        return EXIT_FAILED
    if unavailable:
        print(f"isobench: skipped (unavailable): {', '.join(unavailable)}", file=sys.stderr)
        return EXIT_SKIPPED
    return EXIT_OK
