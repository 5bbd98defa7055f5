"""github-action-benchmark's `customSmallerIsBetter` JSON: a list of
{name, unit, value, range?, extra?}. The format holds one direction, so it
gets the smaller-is-better figures (times, memory, and each backend over the
reference); the rates (higher is better) are in history and Bencher's export."""

from __future__ import annotations

from harness.findings.key_figures import key_figures
from harness.results.model import Run


def export(run: Run) -> list[dict]:
    commit = run.provenance.commit
    out = []
    for figure in key_figures(run):
        if figure.higher_is_better:
            continue
        entry = {"name": f"isobench {figure.name}", "unit": figure.unit, "value": figure.value}
        extra = [f"median of n={figure.n} over {figure.trials} trial(s)"]
        if figure.ci95:
            entry["range"] = f"± {(figure.ci95[1] - figure.ci95[0]) / 2:.4g}"
            extra.append(f"95% CI {figure.ci95[0]:.4g}–{figure.ci95[1]:.4g} (hierarchical bootstrap)")
        if commit:
            extra.append(f"commit {commit[:12]}")
        entry["extra"] = "\n".join(extra)
        out.append(entry)
    return out
