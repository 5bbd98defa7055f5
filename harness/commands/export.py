"""`export`: the headline figures of a results file for CI tools
(github-action-benchmark's customSmallerIsBetter JSON, Bencher's BMF JSON)."""

from __future__ import annotations

import json

from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    from harness.exporters import FORMATS

    parser = subparsers.add_parser("export", help="write a results file's figures for github-action-benchmark or Bencher")
    parser.add_argument("results", help="results JSON written by `run`")
    parser.add_argument("--format", required=True, choices=tuple(FORMATS))
    parser.add_argument("--out", default=None, help="write here (atomically) instead of printing")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from harness.analysis import figures
    from harness.exporters import export
    from harness.results.store import ResultsError, load, write_atomic

    try:
        results = load(args.results)
    except ResultsError as error:
        raise UsageError(str(error)) from None
    if figures.injected(results):
        raise UsageError(f"{args.results} has injected faults (a test-only run); not exporting it")
    text = json.dumps(export(results, args.format), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        write_atomic(args.out, text)
    else:
        print(text, end="")
    return EXIT_OK
