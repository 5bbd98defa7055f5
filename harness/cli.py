"""Command line: python -m harness {run,list,summary} ..."""

from __future__ import annotations

import argparse
import datetime
import json
import signal
import sys
import uuid
from pathlib import Path

from harness.environment import REPO_ROOT

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Bad input: one line to stderr, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the suites and write a results file")
    run.add_argument("--backends", default="isolate,subprocess,container",
                     help="comma-separated backends, or 'all' (default: %(default)s)")
    run.add_argument("--profile", default="quick", help="quick (CI, ~2 min), full (reference figures) or smoke (tests only) (default: %(default)s)")
    run.add_argument("--worker", default=None, help="worker file (default: workloads/hello/worker.js)")
    run.add_argument("--out", default="results", help="folder for the results file (default: %(default)s)")
    run.add_argument("--pin", default=None, metavar="CPUS",
                     help="pin the harness and its children (and containers) to these CPUs, e.g. 0 or 0-1")
    run.add_argument("--base-image", default=None,
                     help="container backend: build FROM this registry image (e.g. node:20-slim) instead of scratch")
    run.add_argument("--inherit-env", default="", metavar="VARS",
                     help="comma-separated host variables that child processes keep (default: none)")
    run.add_argument("-v", "--verbose", action="store_true", help="show pytest's full output")
    run.set_defaults(handler=command_run)

    listing = commands.add_parser("list", help="show each backend and whether it can run here")
    listing.add_argument("--base-image", default=None)
    listing.set_defaults(handler=command_list)

    summary = commands.add_parser("summary", help="print the summary of a results file")
    summary.add_argument("results", help="results JSON written by `run`")
    summary.add_argument("--format", choices=("json", "md"), default="md")
    summary.set_defaults(handler=command_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"isobench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("isobench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def command_list(args) -> int:
    from harness.backends import FACTORIES, BackendOptions, create_backend

    for name in FACTORIES:
        backend = create_backend(name, BackendOptions(base_image=args.base_image))
        try:
            availability = backend.availability()
            if availability.available:
                try:
                    versions = ", ".join(f"{k} {v}" for k, v in backend.versions().items() if v)
                except Exception as error:  # versions are informative only
                    versions = f"versions unknown: {error}"
                print(f"{name:<12} available    {backend.summary}\n{'':<25}{versions}")
            else:
                print(f"{name:<12} UNAVAILABLE  {availability.reason}")
        finally:
            backend.close()
    return EXIT_OK


def command_summary(args) -> int:
    from harness.results import ResultsError, load
    from harness.summary import summarize_results, to_markdown

    try:
        summary = summarize_results(load(args.results))
    except ResultsError as error:
        raise UsageError(str(error)) from None
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(to_markdown(summary), end="")
    return EXIT_OK


def _validate_run_args(args) -> None:
    from harness.backends import parse_backend_names
    from harness.environment import parse_cpus
    from harness.profiles import get_profile
    from harness.worker import WorkerError, load_worker

    try:
        parse_backend_names(args.backends)
        get_profile(args.profile)
        if args.pin:
            parse_cpus(args.pin)
        worker = load_worker(args.worker)
    except (ValueError, WorkerError) as error:
        raise UsageError(str(error)) from None
    _preflight(worker)


def _preflight(worker) -> None:
    """Load and call the worker once in an engine, so that a broken worker is
    one clear error instead of a failed suite."""
    from harness.backends import create_backend
    from harness.backends.base import BackendError, WorkerLoadError
    from harness.measure import cold_start

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


def command_run(args) -> int:
    import pytest

    from harness.cleanup import clean_up_run
    from harness.progress import note
    from harness.results import ResultsError, load, save
    from harness.summary import summarize_results, to_markdown

    _validate_run_args(args)
    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create output folder {out_dir}: {error.strerror}") from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp}-{uuid.uuid4().hex[:8]}"
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
    unavailable = [name for name, entry in summary["backends"].items() if not entry["available"]]
    if code == 2 or results.status == "interrupted":
        return EXIT_INTERRUPTED
    if code not in (0, 5):
        return EXIT_FAILED
    if unavailable:
        print(f"isobench: skipped (unavailable): {', '.join(unavailable)}", file=sys.stderr)
        return EXIT_SKIPPED
    return EXIT_OK
