"""`ab`: measure this checkout against a base commit on this machine, the two
versions' trials interleaved in pairs (a random order within each pair), and
judge the change as `compare` does, the pairs resampled together. Exit 0 no
regression, 1 a regression (or a lost trial), 2 bad input (a base that cannot
run trials, one that predates them, included), 130 interrupted."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.commands.compare import add_verdict_options, print_comparison, settings
from harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, UsageError
from harness.measure.options import add_to_argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("ab", help="measure this checkout against a base commit, trials in pairs; "
                                              "exit 1 on a regression")
    parser.add_argument("--base", required=True, metavar="REF", help="the commit to compare with, e.g. HEAD~1 or main")
    add_to_argparse(parser)
    parser.set_defaults(profile="ci")
    parser.add_argument("--pairs", type=int, default=None,
                        help="trial pairs (default: the profile's max_trials)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="keep both sides' results files here (default: a temporary folder, removed)")
    add_verdict_options(parser)
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.set_defaults(handler=run)


def measure_pairs(options, ref: str, pairs: int, out: Path, stamp: str):
    """Trials of the base commit `ref` and of this checkout, in pairs, results
    into `out`: the Manager's Outcome (sides "base" and "head") and the base's
    commit. BaseUnsupported when the base cannot run trials."""
    from harness.measure.base_checkout import check_out
    from harness.measure.manager import Manager, RunSetup, Side
    from harness.paths import REPO_ROOT

    with check_out(ref) as base:
        print(f"isobench ab: base {ref} ({base.commit[:10]}, environment: {base.environment}) vs this "
              f"checkout; {pairs} pairs, profile {options.profile}, backends {','.join(options.backends)}",
              file=sys.stderr, flush=True)
        sides = (Side("base", base.python, base.folder), Side("head", sys.executable, REPO_ROOT))
        return Manager(RunSetup(options, out, stamp, sides=sides, pairs=pairs, name=f"{stamp}-ab")).run(), base.commit


def run(args) -> int:
    import tempfile
    from dataclasses import replace

    from harness.findings.compare import ABPairs, IncompatibleResults, compare
    from harness.commands.output import output_folder, sigterm_as_interrupt
    from harness.commands.run import new_run_options, report_outcome
    from harness.measure.base_checkout import BaseUnsupported, resolve
    from harness.measure.preflight import api_exclusions, some_backend_can_run, worker_answers

    chosen = replace(settings(args), paired=True)
    stamp, options = new_run_options(args)
    if len(options.workloads) > 1:
        raise UsageError("ab compares one workload at a time; give a single --workload")
    if args.pairs is not None and args.pairs < 2:
        raise UsageError("--pairs must be at least 2")
    pairs = args.pairs or options.run_profile().stopping.max_trials
    resolve(args.base)  # bad input before anything is written
    some_backend_can_run(options)
    worker_answers(options)
    options = api_exclusions(options)
    keep = output_folder(args.out) if args.out else None
    try:
        with sigterm_as_interrupt(), tempfile.TemporaryDirectory(prefix="isobench-ab-") as scratch:
            outcome, commit = measure_pairs(options, args.base, pairs, keep or Path(scratch), stamp)
            report_outcome(outcome, print_summary=False)
            if outcome.code == EXIT_INTERRUPTED or set(outcome.runs) != {"base", "head"}:
                return outcome.code
            try:
                comparison = compare(outcome.runs["base"], outcome.runs["head"], chosen)
            except IncompatibleResults as error:
                raise UsageError(str(error)) from None
            comparison = replace(comparison, ab=ABPairs(ref=args.base, commit=commit, pairs=pairs))
            code = print_comparison(comparison, args.format, strict=False)
            if not keep:
                print("isobench ab: results not kept (use --out DIR to keep them)", file=sys.stderr)
            return code if code else (EXIT_FAILED if outcome.code == EXIT_FAILED else 0)
    except BaseUnsupported as error:
        raise UsageError(str(error)) from None
