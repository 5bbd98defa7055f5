"""`export`: a results file's key figures for CI tools (github-action-benchmark's
customSmallerIsBetter JSON, Bencher's BMF JSON) or isobench's own small
history file (key-figures)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    from harness.exporters import FORMATS

    parser = subparsers.add_parser("export", help="write a results file's key figures for CI tools or history")
    parser.add_argument("results", help="results file written by `run`, or a fleet folder (names get MACHINE/)")
    parser.add_argument("--format", required=True, choices=tuple(FORMATS))
    parser.add_argument("--out", default=None, help="write here (atomically) instead of printing")
    parser.set_defaults(handler=run)


def _fleet_runs(folder: str) -> dict:
    """Each measured machine's run of a fleet folder, by machine."""
    from harness.fleet.manifest import load_manifest
    from harness.results.store import load

    manifest = load_manifest(folder)
    if not manifest.measured:
        raise UsageError(f"{folder}: fleet {manifest.fleet_id} has no measured node")
    return {node.name: load(Path(folder) / node.results) for node in manifest.measured}


def run(args) -> int:
    from harness.exporters import export, export_fleet
    from harness.fleet.manifest import is_fleet
    from harness.results.store import ResultsError, load, write_atomic

    fleet = is_fleet(args.results)
    try:
        runs = _fleet_runs(args.results) if fleet else {args.results: load(args.results)}
    except ResultsError as error:
        raise UsageError(str(error)) from None
    if any(run.injected for run in runs.values()):
        raise UsageError(f"{args.results} has injected faults (a test-only run); not exporting it")
    try:
        exported = export_fleet(runs, args.format) if fleet else export(runs[args.results], args.format)
    except ValueError as error:
        raise UsageError(str(error)) from None
    text = json.dumps(exported, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        write_atomic(args.out, text)
    else:
        print(text, end="")
    return EXIT_OK
