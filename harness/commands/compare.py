"""`compare`: did NEW get significantly worse than BASELINE (a results file,
or a folder of them: a baseline set)? Exit 0 no regression, 1 a regression,
2 unusable input (one line on stderr)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.errors import EXIT_FAILED, EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("compare", help="compare a run with a baseline run or set; exit 1 on a regression")
    parser.add_argument("baseline", help="results file of the baseline run, or a folder of baseline runs")
    parser.add_argument("new", help="results file of the run to check")
    add_verdict_options(parser)
    parser.add_argument("--strict", action="store_true",
                        help="refuse (exit 2) when the runs come from different machines or versions")
    parser.add_argument("--gate-any-machine", action="store_true",
                        help="a baseline set recorded on another machine still fails the check (default: its "
                             "verdicts are advice there, exit 0)")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.set_defaults(handler=run)


def add_verdict_options(parser) -> None:
    """What counts as a regression: shared by `compare` and `ab`."""
    parser.add_argument("--threshold", default="10%",
                        help="smallest change that counts, e.g. 10%% or 0.10 (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.01, help="significance level per figure (default: %(default)s)")
    parser.add_argument("--ratios-only", action="store_true",
                        help="compare only the ratios between backends, measured within each run (across machines)")
    parser.add_argument("--metrics", default=None, metavar="NAMES",
                        help="compare only these metrics, e.g. cold_start,memory (default: all)")
    parser.add_argument("--clock", choices=("both", "wall", "cpu"), default="both",
                        help="which cold-start clocks gate: both, each at alpha/2, so either one regressing fails; "
                             "or one only (default: %(default)s)")
    parser.add_argument("--boundary", type=float, default=0.99,
                        help="baseline sets: the prediction bound of the baseline runs' values (default: %(default)s)")


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


def settings(args, baseline_set: bool = False):
    """The verdict options; a baseline set (a folder) is bound to its machine unless --gate-any-machine."""
    from harness.findings.compare import CompareSettings

    metrics = None
    if args.metrics is not None:
        metrics = tuple(n.strip() for n in args.metrics.split(",") if n.strip())
        if not metrics:
            raise UsageError("--metrics is empty")
    try:
        return CompareSettings(threshold=parse_threshold(args.threshold), alpha=args.alpha,
                               ratios_only=args.ratios_only, metrics=metrics, clock=args.clock,
                               boundary=args.boundary,
                               machine_bound=baseline_set and not getattr(args, "gate_any_machine", False))
    except ValueError as error:
        raise UsageError(str(error)) from None


def load_baselines(where: str) -> list:
    """One run, or every usable run of a folder (injected and incomplete runs are left out, with a warning)."""
    return [workloads.primary for workloads in load_baseline_sets(where)]


def load_baseline_sets(where: str) -> list:
    """load_baselines, with every workload of each file (WorkloadSet; a plain run is a set of one)."""
    from harness.results.store import ResultsError, load_set as load

    path = Path(where)
    if not path.is_dir():
        return [load(path)]
    runs = []
    for file in sorted([*path.rglob("*.json"), *path.rglob("*.json.gz")]):
        if file.name.startswith(("latest.", "containment-")) or file.name == "MACHINE.json" or ".journal." in file.name:
            continue
        try:
            found = load(file)
        except ResultsError as error:
            if "not written by isobench" in str(error) or "no 'benchmarks'" in str(error):
                continue  # another kind of file (a history file, a containment record)
            raise UsageError(f"baseline set {path}: {error}") from None
        primary = found.primary
        if primary.injected or primary.status != "complete":
            print(f"isobench: baseline set: leaving out {file} "
                  f"({'injected' if primary.injected else primary.status})", file=sys.stderr)
            continue
        runs.append(found)
    if not runs:
        raise UsageError(f"no usable results file in the baseline folder {path}")
    return runs


def print_comparison(comparison, fmt: str, strict: bool) -> int:
    """A Comparison as markdown or JSON on stdout, its warnings on stderr: exit 1 on a regression."""
    from harness.findings.compare import ADVISORY, REGRESSION

    differences = comparison.machine_differences
    if differences:
        listed = ", ".join(differences)
        if strict:
            raise UsageError(f"--strict: the runs come from different machines or versions ({listed})")
        print(f"isobench: WARNING: the runs differ in {listed}; see the warnings below", file=sys.stderr)
    for side in ("baseline", "new"):
        if comparison.injected[side]:
            print(f"isobench: WARNING: the {side} run has INJECTED faults (test only)", file=sys.stderr)
    if fmt == "json":
        print(json.dumps(comparison.to_json(), indent=2))
    else:
        print(to_markdown(comparison), end="")
    if comparison.verdict == ADVISORY:
        print(f"isobench: advice only, not failing: {comparison.advisory}", file=sys.stderr)
    return EXIT_FAILED if comparison.verdict == REGRESSION else EXIT_OK


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1e}" if value < 0.001 else f"{value:.3f}"


def _bound(row) -> str:
    bound = row.between_runs
    return f"{_num(bound.low)}–{_num(bound.high)}" if bound else "–"


def to_markdown(comparison) -> str:
    """A Comparison as the markdown table `compare` prints."""
    from harness.findings.compare import IMPROVEMENT, NOT_GATED, REGRESSION

    lines = [f"> **WARNING:** {warning}" for warning in comparison.warnings]
    if comparison.advisory:
        lines.append(f"> **ADVICE ONLY:** {comparison.advisory}: these verdicts do not fail. Record a baseline "
                     "set on this machine (scripts/refresh-baseline.sh) to gate on it; docs/regression-tracking.md")
    if lines:
        lines.append("")
    sets = len(comparison.baseline) >= 3
    lines += ["| backend | metric | unit | old | new | new/old [95% CI] | p |"
              + (" baseline runs' bound |" if sets else "") + " verdict |",
              "|---|---|---|---|---|---|---|" + ("---|" if sets else "") + "---|"]
    for row in comparison.rows:
        ci = row.ratio_ci95
        change = f"{row.ratio:.3f}" + (f" [{ci[0]:.3f}–{ci[1]:.3f}]" if ci else "")
        mark = {REGRESSION: "**REGRESSION**", IMPROVEMENT: "improvement"}.get(row.verdict, row.verdict)
        if row.note and row.verdict != NOT_GATED:
            mark += f" ({row.note})"
        elif row.verdict == NOT_GATED:
            mark = row.note
        lines.append(f"| {row.backend} | {row.metric} | {row.unit} | {_num(row.old_median)} "
                     f"| {_num(row.new_median)} | {change} | {_p(row.p_value)} |"
                     + (f" {_bound(row)} |" if sets else "") + f" {mark} |")
    lines.append("")
    lines += [f"- {note}" for note in comparison.notes]
    new, olds = comparison.new, comparison.baseline
    lines.append(f"- Baseline: {len(olds)} run(s) ({', '.join(str(o.path) for o in olds[:3])}"
                 f"{' …' if len(olds) > 3 else ''}); new: {new.path} (commit {(new.commit or '?')[:10]}, "
                 f"{new.trials} trials).")
    settings = comparison.settings
    lines.append(f"\n**{comparison.regressions} regression(s), {comparison.improvements} improvement(s)** "
                 f"(threshold {settings.threshold:.0%}, alpha {settings.alpha}"
                 f"{', machine-independent ratios only' if settings.ratios_only else ''})"
                 + (": advice only, another machine." if comparison.advisory else "."))
    return "\n".join(lines) + "\n"


def run(args) -> int:
    """Each workload of NEW against the same workload in the baseline(s)."""
    from harness.findings.compare import IncompatibleResults, compare
    from harness.results.store import ResultsError, load_set

    chosen = settings(args, baseline_set=Path(args.baseline).is_dir())
    try:
        baselines = load_baseline_sets(args.baseline)
        new = load_set(args.new)
        comparisons = {}
        for name, run in new.runs.items():
            matching = [workloads.runs[name] for workloads in baselines if name in workloads.runs]
            if matching:
                comparisons[name] = compare(matching, run, chosen)
    except (ResultsError, IncompatibleResults) as error:
        raise UsageError(str(error)) from None
    if not comparisons:
        held = sorted({name for workloads in baselines for name in workloads.names})
        raise UsageError(f"no workload in common: the new run has {', '.join(new.names)}; "
                         f"the baseline has {', '.join(held)}")
    if len(comparisons) == 1:
        return print_comparison(next(iter(comparisons.values())), args.format, args.strict)
    codes = []
    for name, comparison in comparisons.items():
        if args.format == "md":
            print(f"\n# workload: {name}\n")
        codes.append(print_comparison(comparison, args.format, args.strict))
    missing = [name for name in new.names if name not in comparisons]
    if missing:
        print(f"isobench: no baseline for workload(s) {', '.join(missing)}: not compared", file=sys.stderr)
    return max(codes)
