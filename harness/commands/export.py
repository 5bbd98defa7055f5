"""`export`: a results file's key figures for CI tools (github-action-benchmark's
customSmallerIsBetter JSON, Bencher's BMF JSON) or isobench's own small
history file (key-figures)."""

from __future__ import annotations

import json

from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    from harness.exporters import FORMATS

    parser = subparsers.add_parser("export", help="write a results file's key figures for CI tools or history")
    parser.add_argument("results", help="results file written by `run`")
    parser.add_argument("--format", required=True, choices=tuple(FORMATS))
    parser.add_argument("--out", default=None, help="write here (atomically) instead of printing")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from harness.exporters import export
    from harness.results.store import ResultsError, load, write_atomic

    try:
        found = load(args.results)
    except ResultsError as error:
        raise UsageError(str(error)) from None
    if found.injected:
        raise UsageError(f"{args.results} has injected faults (a test-only run); not exporting it")
    text = json.dumps(export(found, args.format), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        write_atomic(args.out, text)
    else:
        print(text, end="")
    return EXIT_OK
