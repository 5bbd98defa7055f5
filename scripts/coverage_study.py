"""Do the intervals cover what they say? Measured on committed repeated runs of one commit.

    python scripts/coverage_study.py [--out docs/coverage-study.md] GROUP=GLOB [GROUP=GLOB ...]

Each GROUP is a set of runs of one commit on one machine (e.g.
`ci-aa=results/power-study/unchanged-*/*.json.gz`,
`quick=results/coverage-study/*.json`). For every kind of figure (cold start
wall and CPU and warm call in each CPU regime, their ratios to the reference,
memory and its ratio), and every ordered pair of runs (i, j) of a group:

- *CI covers a rerun*: run j's estimate lies in run i's confidence interval;
- *PI covers a rerun*: it lies in run i's prediction interval (Estimate.prediction);
- *CI covers the pooled median*: the median of every run's estimate (a stand-in
  for the true median of this machine at this time) lies in run i's interval.

Beside each share stands what a calibrated interval of that kind would give:
a confidence interval of coverage c covers an independent rerun's estimate of
the same precision with probability 2 Phi(z_c / sqrt 2) - 1 (83% for c = 95%),
a prediction interval 95%, and a confidence interval covers the median with
probability c. The drift between runs is the variance of the runs' estimates
(log scale) beyond what their own standard errors explain: a component no
single run can see.
"""

from __future__ import annotations

import argparse
import glob
import math
import sys
from pathlib import Path

import numpy as np
from scipy.stats import norm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.analysis.stats import drift_between_runs  # noqa: E402

KINDS = {  # figure key -> kind shown in the table
    "cold_start": "cold start, wall, idle", "cold_start_cpu": "cold start, CPU, idle",
    "cold_start_awake": "cold start, wall, awake", "cold_start_awake_cpu": "cold start, CPU, awake",
    "warm_call": "warm call, idle", "warm_call_awake": "warm call, awake",
}


def figures(run) -> dict[tuple[str, str], object]:
    """(kind, backend or pair) -> Estimate, for every figure the run has."""
    from harness.analysis.estimate import estimate, paired_ratio

    out = {}
    ref = run.reference
    for name, result in run.backends.items():
        if not result.measured:
            continue
        for key, kind in KINDS.items():
            series = result.timing(key)
            if series:
                out[(kind, name)] = estimate(series)
                theirs = run.backends[ref].timing(key) if ref and name != ref else None
                if theirs:
                    out[(f"{kind}, ratio", f"{name}/{ref}")] = paired_ratio(series, theirs)
        if result.memory and "pss" in result.memory.kinds:
            mine = result.memory.per_instance("pss")
            out[("memory PSS", name)] = estimate(mine)
            ref_memory = run.backends[ref].memory if ref and name != ref else None
            if ref_memory and "pss" in ref_memory.kinds:
                out[("memory PSS, ratio", f"{name}/{ref}")] = paired_ratio(mine, ref_memory.per_instance("pss"))
    return {k: v for k, v in out.items() if v is not None and v.ci}


def rerun_share(coverage: float) -> float:
    """How often a calibrated CI of this coverage holds an independent rerun's estimate."""
    z = norm.ppf(0.5 + coverage / 2)
    return float(2 * norm.cdf(z / math.sqrt(2)) - 1)


def study(name: str, runs: list) -> list[str]:
    found = [figures(run) for run in runs]
    keys = sorted(set().union(*found))
    by_kind: dict[str, dict] = {}
    for key in keys:
        kind = key[0]
        have = [f[key] for f in found if key in f]
        if len(have) < 2:
            continue
        pooled = float(np.median([e.value for e in have]))
        cell = by_kind.setdefault(kind, {"ci_rerun": [], "pi_rerun": [], "ci_pooled": [], "coverage": [],
                                         "drift": [], "figures": 0})
        cell["figures"] += 1
        for i, mine in enumerate(have):
            cell["coverage"].append(mine.coverage or 0.95)
            cell["ci_pooled"].append(mine.ci[0] <= pooled <= mine.ci[1])
            for j, other in enumerate(have):
                if i != j:
                    cell["ci_rerun"].append(mine.ci[0] <= other.value <= mine.ci[1])
                    low, high = mine.prediction
                    cell["pi_rerun"].append(low <= other.value <= high)
        cell["drift"].append(drift_between_runs([e.value for e in have], [e.ci for e in have]))
    trials = sorted({len(r.complete_trials) for r in runs})
    lines = [f"### {name}: {len(runs)} runs of commit {(runs[0].provenance.commit or '?')[:10]}, "
             f"profile {runs[0].profile.name}, {'/'.join(map(str, trials))} trials each", "",
             f"Machine: {runs[0].machine.cpu_model}, kernel {runs[0].machine.kernel}. Started "
             f"{min(r.provenance.started for r in runs)[:16]} to {max(r.provenance.started for r in runs)[:16]} UTC.", "",
             "| figure kind | figures | CI's coverage (trials allow) | CI covers a rerun | calibrated CI would | "
             "PI covers a rerun (calibrated: 95%) | CI covers the pooled median | drift between runs (CV) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, cell in by_kind.items():
        coverage = float(np.mean(cell["coverage"]))
        lines.append(f"| {kind} | {cell['figures']} | {coverage:.1%} | {np.mean(cell['ci_rerun']):.0%} "
                     f"({len(cell['ci_rerun'])}) | {rerun_share(coverage):.0%} | {np.mean(cell['pi_rerun']):.0%} "
                     f"| {np.mean(cell['ci_pooled']):.0%} | {np.median(cell['drift']):.2%} (largest {max(cell['drift']):.2%}) |")
    return lines + [""]


def main() -> None:
    from harness.results.store import load

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="+", metavar="GROUP=GLOB")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    lines = ["# Coverage study: do the intervals cover what they say?", "",
             "Written by `python scripts/coverage_study.py --out docs/coverage-study.md "
             + " ".join(f"'{g}'" for g in args.groups) + "`. Each group is a set of runs of one commit on one "
             "machine, committed under results/. For each kind of figure and each ordered pair of runs (i, j): "
             "does run j's estimate lie in run i's confidence interval (CI), in its prediction interval (PI), and "
             "does the pooled median of all the group's runs (a stand-in for the true median of that machine at "
             "that time) lie in run i's CI? Beside each share is what a calibrated interval of its kind would "
             "give: a CI of coverage c holds an independent rerun's estimate of the same precision with "
             "probability 2Φ(z_c/√2) − 1 (83% for c = 95%), a 95% PI 95%, and a CI holds the median with "
             "probability c. The count of pairs is in brackets. *Drift between runs* is the spread of the runs' "
             "estimates (log scale, as a CV) beyond what their own standard errors explain: what no single run can "
             "see. The mathematics of the intervals is in harness/analysis/bootstrap.py and estimate.py.", ""]
    for group in args.groups:
        name, _, pattern = group.partition("=")
        paths = sorted(p for p in glob.glob(str(ROOT / pattern)) if not p.endswith("latest.json"))
        if len(paths) < 2:
            sys.exit(f"coverage study: group {name}: {len(paths)} run(s) match {pattern}; need two or more")
        lines += study(name, [load(p) for p in paths])
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
