"""History: each key figure over the runs in a folder, ordered by commit time
(runs without a commit by date), with step changes flagged. A run is a
results file or its small history file (`export --format key-figures`);
both give the same key figures. Pure apart from reading the files; the plot
is in harness/commands/history.py."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.findings.key_figures import KEY_FIGURES_SCHEMA, KeyFigure, history_record
from harness.analysis.stats import drift_between_runs
from harness.analysis.steps import step_changes
from harness.paths import REPO_ROOT
from harness.results.model import ResultsError
from harness.results.store import load, read_json

STEP_THRESHOLD = 0.05


@dataclass
class RunPoint:
    source: str
    commit: str | None
    dirty: bool
    started: str | None
    figures: list[KeyFigure]
    commit_time: str | None = None
    families: dict = field(default_factory=dict)  # backend -> {family, family_index}

    @property
    def label(self) -> str:
        if not self.commit:
            return (self.started or "?")[:16]
        return self.commit[:8] + ("+dirty" if self.dirty else "")

    @property
    def sort_key(self) -> tuple:
        return (self.commit_time or self.started or "", self.started or "")


@dataclass
class History:
    runs: list[RunPoint]
    series: dict[str, dict] = field(default_factory=dict)  # name -> {unit, backend, metric, points, steps}
    skipped: list[str] = field(default_factory=list)


def _commit_time(commit: str | None) -> str | None:
    if not commit:
        return None
    try:
        return subprocess.run(["git", "show", "-s", "--format=%cI", commit], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _point(path: Path) -> RunPoint | str:
    """A run from a results file or a history file; a string says why not."""
    raw = read_json(path)
    if isinstance(raw, dict) and raw.get("schema") == KEY_FIGURES_SCHEMA:
        record = raw
    else:
        record = history_record(load(path))
    run = record["run"]
    if run.get("injected"):
        return f"{path}: injected faults (test-only run)"
    return RunPoint(str(path), run.get("commit"), bool(run.get("dirty")), run.get("started"),
                    [KeyFigure.from_json(f) for f in record["figures"]], _commit_time(run.get("commit")),
                    run.get("backends") or {})


def find_runs(folder: str | Path) -> tuple[list[RunPoint], list[str]]:
    """Every run under the folder (latest.json copies left out); what is skipped, and why."""
    root = Path(folder)
    if not root.is_dir():
        raise ResultsError(f"not a folder: {root}")
    found, skipped, seen = [], [], set()
    for path in sorted([*root.rglob("*.json"), *root.rglob("*.json.gz")]):
        if path.name.startswith("latest.") or path.name.startswith("containment-"):
            continue
        try:
            point = _point(path)
        except (ResultsError, KeyError, TypeError, ValueError) as error:
            skipped.append(f"{path}: {error}")
            continue
        if isinstance(point, str):
            skipped.append(point)
            continue
        key = (point.commit, point.started)
        if key in seen:  # a results file and its history file are one run
            continue
        seen.add(key)
        found.append(point)
    return found, skipped


def build_history(points: list[RunPoint], threshold: float = STEP_THRESHOLD) -> History:
    runs = sorted(points, key=lambda run: run.sort_key)
    history = History(runs)
    families = {name: value for run in runs for name, value in run.families.items()}
    for index, run in enumerate(runs):
        for figure in run.figures:
            family = families.get(figure.backend.split("/")[0], {})
            entry = history.series.setdefault(figure.name, {
                "backend": figure.backend, "metric": figure.metric, "unit": figure.unit, "points": [],
                "family": family.get("family", ""), "family_index": family.get("family_index", 0)})
            entry["points"].append({"run": index, "label": run.label, "commit": run.commit, "started": run.started,
                                    "value": figure.value, "ci95": list(figure.ci95) if figure.ci95 else None,
                                    "n": figure.n, "trials": figure.trials})
    for entry in history.series.values():
        points = entry["points"]
        steps = step_changes([p["value"] for p in points], [p["ci95"] for p in points], threshold)
        for step in steps:
            step["label"] = points[step["index"]]["label"]
            step["after_run"] = points[step["index"]]["run"]
        entry["steps"] = steps
        entry["drift"] = same_commit_drift(points, {run.label: run.dirty for run in runs})
    return history


def same_commit_drift(points: list[dict], dirty: dict[str, bool]) -> dict | None:
    """The drift between runs of one clean commit (stats.drift_between_runs),
    for the commit with the most such runs (at least two): a variance
    component of its own, which no single run's interval contains. Runs of
    different commits are not pooled, since code changes are not drift."""
    by_commit: dict[str, list[dict]] = {}
    for point in points:
        if point["commit"] and not dirty.get(point["label"]) and point["ci95"]:
            by_commit.setdefault(point["commit"], []).append(point)
    if not by_commit:
        return None
    commit, same = max(by_commit.items(), key=lambda item: len(item[1]))
    cv = drift_between_runs([p["value"] for p in same], [tuple(p["ci95"]) for p in same]) if len(same) >= 2 else None
    return None if cv is None else {"cv": cv, "runs": len(same), "commit": commit}


def to_json(history: History) -> dict:
    return {"runs": [{"label": r.label, "commit": r.commit, "dirty": r.dirty, "commit_time": r.commit_time,
                      "started": r.started, "source": r.source} for r in history.runs],
            "series": history.series, "skipped": history.skipped}


def to_markdown(history: History) -> str:
    lines = [f"History of {len(history.runs)} run(s), ordered by commit (runs without a commit by date).", ""]
    lines += ["| figure | unit | first | last | step changes | drift between runs of one commit (CV) |",
              "|---|---|---|---|---|---:|"]
    for name, entry in history.series.items():
        points = entry["points"]
        steps = "; ".join(
            f"{s['direction']} {s['change']:.2f}x at {s['label']}{'' if s['confirmed'] else ' (unconfirmed: one run)'}"
            for s in entry["steps"]) or "–"
        drift = entry.get("drift")
        drift_text = f"{drift['cv']:.1%} ({drift['runs']} runs of {drift['commit'][:8]})" if drift else "–"
        lines.append(f"| {name} | {entry['unit']} | {points[0]['value']:.4g} | {points[-1]['value']:.4g} | {steps} "
                     f"| {drift_text} |")
    lines += ["", "Drift is the spread between runs of one clean commit beyond what their own intervals explain "
              "(harness/analysis/stats.py): absolute figures hold for one machine at one time; it says by how much "
              "they move between runs. Needs two or more runs of one commit."]
    if history.skipped:
        lines += ["", "Skipped:"] + [f"- {item}" for item in history.skipped]
    return "\n".join(lines) + "\n"
