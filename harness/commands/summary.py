"""`summary`: the flat summary of a results file, as JSON or markdown."""

from __future__ import annotations

import json

from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="print the summary of a results file")
    parser.add_argument("results", help="results JSON written by `run`")
    parser.add_argument("--format", choices=("json", "md"), default="md")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from harness.results.store import ResultsError, load
    from harness.analysis.summary import summarize_results, to_markdown

    try:
        summary = summarize_results(load(args.results))
    except ResultsError as error:
        raise UsageError(str(error)) from None
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(to_markdown(summary), end="")
    return EXIT_OK
