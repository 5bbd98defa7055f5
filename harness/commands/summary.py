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
    from harness.findings.summary import summarize_run, to_markdown
    from harness.results.store import ResultsError, load_set

    try:
        workloads = load_set(args.results)
        summaries = {name: summarize_run(run) for name, run in workloads.runs.items()}
    except ResultsError as error:
        raise UsageError(str(error)) from None
    if args.format == "json":
        several = len(summaries) > 1
        found = {name: summary.to_json() for name, summary in summaries.items()}
        print(json.dumps(found if several else next(iter(found.values())), indent=2))
        return EXIT_OK
    for name, summary in summaries.items():
        if len(summaries) > 1:
            print(f"\n# workload: {name}\n")
        print(to_markdown(summary), end="")
    return EXIT_OK
