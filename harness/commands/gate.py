"""`gate`: the CI regression gate. Measures this checkout against a base
commit in trial pairs (as `ab` does), then judges that one measurement twice,
A/B and against the baseline set, and measures again once if it fails. The
policy (settings, checks, how they combine, the re-measure rule) is
harness/findings/gate.py's. Exit 0 pass, 1 a regression confirmed by every
measurement (or a lost trial), 2 bad input, 130 interrupted."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.findings import gate
from harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, UsageError
from harness.measure.options import add_to_argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("gate", help="the CI regression gate: A/B against a base commit and the baseline "
                                                "set, measured again once on a failure; exit 1 on a regression")
    add_to_argparse(parser)
    parser.set_defaults(profile=gate.PROFILE)
    parser.add_argument("--base", default=gate.BASE, metavar="REF",
                        help="the commit of the A/B check (default: %(default)s); when it is missing or cannot run "
                             "trials, the baseline set alone is checked")
    parser.add_argument("--baseline-set", default=gate.BASELINE_SET, metavar="DIR",
                        help="folder of the baseline runs (default: %(default)s)")
    parser.add_argument("--threshold", default=f"{gate.THRESHOLD:.0%}",
                        help="smallest change that counts (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=gate.ALPHA, help="significance level (default: %(default)s)")
    parser.add_argument("--remeasures", type=int, default=gate.REMEASURES,
                        help="measurements more after a failing one (default: %(default)s)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="keep each attempt's results files in DIR/attempt-N (default: removed)")
    parser.set_defaults(handler=run)


def _settings(args) -> gate.GateSettings:
    from harness.commands.compare import parse_threshold

    try:
        return gate.GateSettings(threshold=parse_threshold(args.threshold), alpha=args.alpha, profile=args.profile,
                                 base=args.base, baseline_set=args.baseline_set, remeasures=args.remeasures)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run(args) -> int:
    from harness.commands.compare import load_baselines

    settings = _settings(args)
    if not Path(settings.baseline_set).is_dir():
        raise UsageError(f"--baseline-set {settings.baseline_set}: no such folder")
    baselines = load_baselines(settings.baseline_set)
    attempt = 0
    while True:
        code = _attempt(args, settings, baselines, attempt)
        if not gate.measure_again(code, attempt, settings):
            print(f"gate: {'passed' if code == 0 else f'exit {code}'} after {attempt + 1} measurement(s)",
                  file=sys.stderr)
            return code
        attempt += 1
        print("gate: the gate failed; measuring once more to confirm", file=sys.stderr, flush=True)


def _attempt(args, settings: gate.GateSettings, baselines: list, attempt: int) -> int:
    """One measurement and both checks on it: the worst exit."""
    import tempfile

    from harness.commands.compare import print_comparison
    from harness.commands.output import output_folder, sigterm_as_interrupt
    from harness.commands.run import new_run_options, report_outcome
    from harness.measure.preflight import api_exclusions, some_backend_can_run, worker_answers

    stamp, options = new_run_options(args)
    some_backend_can_run(options)
    worker_answers(options)
    options = api_exclusions(options)
    keep = output_folder(Path(args.out) / f"attempt-{attempt + 1}") if args.out else None
    with sigterm_as_interrupt(), tempfile.TemporaryDirectory(prefix="isobench-gate-") as scratch:
        outcome = _measure(options, settings, keep or Path(scratch), stamp, options.run_profile().stopping.max_trials)
        report_outcome(outcome, print_summary=False)
        if outcome.code == EXIT_INTERRUPTED or ("head" not in outcome.runs and "" not in outcome.runs):
            return outcome.code or EXIT_FAILED
        head = outcome.runs.get("head") or outcome.runs[""]
        verdict = gate.judge(outcome.runs.get("base"), head, baselines, settings)
        codes = [EXIT_FAILED if outcome.code == EXIT_FAILED else 0]
        if verdict.ab is not None:
            print(f"\n## gate, A/B: this checkout against {settings.base}\n")
            codes.append(print_comparison(verdict.ab, "md", strict=False))
        print(f"\n## gate, baseline set: this checkout against {settings.baseline_set}/\n")
        codes.append(print_comparison(verdict.baseline_set, "md", strict=False))
        return gate.worst(codes)


def _measure(options, settings: gate.GateSettings, out: Path, stamp: str, pairs: int):
    """Base and head in pairs; this checkout alone when the base cannot run trials (said why)."""
    from harness.commands.ab import measure_pairs
    from harness.measure.base_checkout import BaseUnsupported
    from harness.measure.manager import Manager, RunSetup

    try:
        outcome, _ = measure_pairs(options, settings.base, pairs, out, stamp)
        return outcome
    except (BaseUnsupported, UsageError) as error:
        print(f"gate: no A/B check ({error}): the baseline set only", file=sys.stderr, flush=True)
    return Manager(RunSetup(options, out, stamp)).run()
