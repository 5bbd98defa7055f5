"""`summary`: the summary of a results file, as JSON or markdown."""

from __future__ import annotations

import json

from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="print the summary of a results file")
    parser.add_argument("results", help="results file written by `run`")
    parser.add_argument("--format", choices=("json", "md"), default="md")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from harness.analysis.summary import summarize_run, to_markdown
    from harness.results.store import ResultsError, load

    try:
        summary = summarize_run(load(args.results))
    except ResultsError as error:
        raise UsageError(str(error)) from None
    print(json.dumps(summary, indent=2) if args.format == "json" else to_markdown(summary), end="\n" if args.format == "json" else "")
    return EXIT_OK
