"""github-action-benchmark's `customSmallerIsBetter` JSON: a list of
{name, unit, value, range?, extra?}; every isobench figure is smaller-is-better
(times, memory, and each backend over the isolate)."""

from __future__ import annotations

from harness.analysis import figures
from harness.analysis.key_figures import headline_figures
from harness.results.store import Results


def export(results: Results) -> list[dict]:
    commit = figures.commit_of(results)
    out = []
    for figure in headline_figures(results):
        entry = {"name": f"isobench {figure['name']}", "unit": figure["unit"], "value": figure["value"]}
        ci = figure["ci95"]
        extra = [f"median of n={figure['n']}" if figure["n"] > 1 else "one memory sweep"]
        if ci:
            entry["range"] = f"± {(ci[1] - ci[0]) / 2:.4g}"
            extra.append(f"95% CI {ci[0]:.4g}–{ci[1]:.4g}")
        if commit:
            extra.append(f"commit {commit[:12]}")
        entry["extra"] = "\n".join(extra)
        out.append(entry)
    return out
