"""`compare`: did NEW get significantly worse than BASELINE? Exit 0 no
regression, 1 a regression, 2 unusable input (one line on stderr)."""

from __future__ import annotations

import json
import sys

from harness.errors import EXIT_FAILED, EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("compare", help="compare two results files; exit 1 on a significant regression")
    parser.add_argument("baseline", help="results JSON of the baseline run")
    parser.add_argument("new", help="results JSON of the run to check")
    parser.add_argument("--threshold", default="10%",
                        help="smallest change that counts, e.g. 10%% or 0.10 (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.01,
                        help="significance level per figure (default: %(default)s)")
    parser.add_argument("--ratios-only", action="store_true",
                        help="compare only the machine-independent ratios between backends (cross-machine mode)")
    parser.add_argument("--metrics", default=None, metavar="NAMES",
                        help="compare only these metrics, e.g. cold_start,memory (default: all)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse (exit 2) when the runs come from different machines or versions")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.set_defaults(handler=run)


def parse_threshold(text: str) -> float:
    """'10%' or '0.10' -> 0.10."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(f"bad --threshold {text!r}: write e.g. 10% or 0.10") from None
    if not 0 < value < 10 or (not raw.endswith("%") and value > 1):
        raise UsageError(f"bad --threshold {text!r}: write e.g. 10% or 0.10")
    return value


def _metrics(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError("--metrics is empty")
    return names


def run(args) -> int:
    from harness.analysis.compare import REGRESSION, IncompatibleResults, compare_results, to_markdown
    from harness.results.store import ResultsError, load

    threshold = parse_threshold(args.threshold)
    if not 0 < args.alpha < 1:
        raise UsageError(f"bad --alpha {args.alpha}: must be between 0 and 1")
    try:
        baseline, new = load(args.baseline), load(args.new)
        comparison = compare_results(baseline, new, threshold=threshold, alpha=args.alpha,
                                     ratios_only=args.ratios_only, metrics=_metrics(args.metrics))
    except (ResultsError, IncompatibleResults) as error:
        raise UsageError(str(error)) from None
    differences = comparison["machine_differences"]
    if differences:
        listed = ", ".join(differences)
        if args.strict:
            raise UsageError(f"--strict: the runs come from different machines or versions ({listed})")
        print(f"isobench: WARNING: the runs differ in {listed}; see the warnings below", file=sys.stderr)
    for side in ("baseline", "new"):
        if comparison["injected"][side]:
            print(f"isobench: WARNING: the {side} run has INJECTED faults (test only): "
                  f"{comparison['injected'][side]}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(comparison, indent=2))
    else:
        print(to_markdown(comparison), end="")
    return EXIT_FAILED if comparison["verdict"] == REGRESSION else EXIT_OK
