"""History: each headline figure over the runs in a folder, ordered by commit
(the results' git metadata), with step changes flagged. Pure apart from
reading the files; the plot is in harness/commands/history.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.analysis import figures
from harness.analysis.key_figures import headline_figures
from harness.results.store import Results, ResultsError, load
from harness.analysis.steps import step_changes

STEP_THRESHOLD = 0.05


@dataclass
class Run:
    results: Results
    commit: str | None
    dirty: bool
    commit_time: str | None
    started: str | None

    @property
    def label(self) -> str:
        if not self.commit:
            return (self.started or "?")[:16]
        return self.commit[:8] + ("+dirty" if self.dirty else "")

    @property
    def sort_key(self) -> tuple:
        # Commits by their commit time; runs without one by their date; then by date.
        return (self.commit_time or self.started or "", self.started or "")


@dataclass
class History:
    runs: list[Run]
    series: dict[str, dict] = field(default_factory=dict)  # name -> {unit, backend, metric, points, steps}
    skipped: list[str] = field(default_factory=list)


def describe_run(results: Results) -> Run:
    git = results.machine.get("git") or {}
    info = results.raw.get("commit_info") or {}
    commit = figures.commit_of(results)
    dirty = bool(git.get("dirty") if "dirty" in git else info.get("dirty"))
    commit_time = info.get("time") if commit and info.get("id") == commit else None
    return Run(results, commit, dirty, commit_time, figures.started_at(results))


def find_results(folder: str | Path) -> tuple[list[Results], list[str]]:
    """Every isobench results file under the folder (latest.json copies left
    out); files that are not results, and runs with injected faults, are skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise ResultsError(f"not a folder: {root}")
    found, skipped = [], []
    for path in sorted([*root.rglob("*.json"), *root.rglob("*.json.gz")]):
        if path.name in ("latest.json", "latest.json.gz"):
            continue
        try:
            results = load(path)
        except ResultsError as error:
            skipped.append(f"{path}: {error}")
            continue
        if figures.injected(results):
            skipped.append(f"{path}: injected faults (test-only run)")
            continue
        found.append(results)
    return found, skipped


def build_history(all_results: list[Results], threshold: float = STEP_THRESHOLD) -> History:
    runs = sorted((describe_run(r) for r in all_results), key=lambda run: run.sort_key)
    history = History(runs)
    for index, run in enumerate(runs):
        for figure in headline_figures(run.results):
            entry = history.series.setdefault(figure["name"], {
                "backend": figure["backend"], "metric": figure["metric"], "unit": figure["unit"], "points": []})
            entry["points"].append({"run": index, "label": run.label, "commit": run.commit,
                                    "started": run.started, "value": figure["value"], "ci95": figure["ci95"],
                                    "n": figure["n"]})
    for entry in history.series.values():
        points = entry["points"]
        steps = step_changes([p["value"] for p in points], [p["ci95"] for p in points], threshold)
        for step in steps:
            step["label"] = points[step["index"]]["label"]
            step["after_run"] = points[step["index"]]["run"]
        entry["steps"] = steps
    return history


def to_json(history: History) -> dict:
    return {
        "runs": [{"label": r.label, "commit": r.commit, "dirty": r.dirty, "commit_time": r.commit_time,
                  "started": r.started, "path": str(r.results.path) if r.results.path else None}
                 for r in history.runs],
        "series": history.series,
        "skipped": history.skipped,
    }


def to_markdown(history: History) -> str:
    lines = [f"History of {len(history.runs)} run(s), ordered by commit (runs without a commit by date).", ""]
    lines += ["| figure | unit | first | last | step changes |", "|---|---|---|---|---|"]
    for name, entry in history.series.items():
        points = entry["points"]
        steps = "; ".join(
            f"{s['direction']} {s['change']:.2f}x at {s['label']}{'' if s['confirmed'] else ' (unconfirmed: one run)'}"
            for s in entry["steps"]) or "–"
        lines.append(f"| {name} | {entry['unit']} | {points[0]['value']:.4g} | {points[-1]['value']:.4g} | {steps} |")
    if history.skipped:
        lines += ["", "Skipped:"] + [f"- {item}" for item in history.skipped]
    return "\n".join(lines) + "\n"
