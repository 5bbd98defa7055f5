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
from harness.analysis.steps import StepChange, step_changes
from harness.paths import REPO_ROOT
from harness.results.fields import Fields
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
    families: dict[str, tuple[str, int]] = field(default_factory=dict)  # backend -> (family, family_index)
    machine: str = ""  # a fleet node's name (results/fleet/<id>/<node>.json.gz): its series are its own

    @property
    def label(self) -> str:
        if not self.commit:
            return (self.started or "?")[:16]
        return self.commit[:8] + ("+dirty" if self.dirty else "")

    @property
    def sort_key(self) -> tuple:
        return (self.commit_time or self.started or "", self.started or "")


@dataclass(frozen=True)
class HistoryPoint:
    """One run's value of one figure, with its interval."""

    run: int  # the run's place in the history, oldest first
    label: str
    commit: str | None
    started: str | None
    value: float
    ci95: tuple[float, float] | None
    n: int
    trials: int

    def to_json(self) -> dict:
        return {"run": self.run, "label": self.label, "commit": self.commit, "started": self.started,
                "value": self.value, "ci95": list(self.ci95) if self.ci95 else None, "n": self.n,
                "trials": self.trials}


@dataclass(frozen=True)
class HistoryStep:
    """A step change in one figure's series, and the run it came after."""

    change: StepChange
    label: str
    after_run: int

    def to_json(self) -> dict:
        return {**self.change.to_json(), "label": self.label, "after_run": self.after_run}


@dataclass(frozen=True)
class Drift:
    """The spread between runs of one clean commit beyond their own intervals (CV)."""

    cv: float
    runs: int
    commit: str

    def to_json(self) -> dict:
        return {"cv": self.cv, "runs": self.runs, "commit": self.commit}


@dataclass
class HistorySeries:
    """One key figure of one backend over the runs."""

    backend: str
    metric: str
    unit: str
    family: str = ""
    family_index: int = 0
    points: list[HistoryPoint] = field(default_factory=list)
    steps: list[HistoryStep] = field(default_factory=list)
    drift: Drift | None = None

    def to_json(self) -> dict:
        return {"backend": self.backend, "metric": self.metric, "unit": self.unit,
                "points": [p.to_json() for p in self.points], "family": self.family,
                "family_index": self.family_index, "steps": [s.to_json() for s in self.steps],
                "drift": self.drift.to_json() if self.drift else None}


@dataclass
class History:
    runs: list[RunPoint]
    series: dict[str, HistorySeries] = field(default_factory=dict)  # figure name -> its series
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
        record = Fields(raw, str(path))
    else:
        record = Fields(history_record(load(path)), str(path))
    run = record.sub("run", required=True)
    if run.value("injected"):
        return f"{path}: injected faults (test-only run)"
    backends = run.sub("backends") or Fields({}, f"{path}.run.backends")
    families = {name: (family.str("family"), family.int("family_index"))
                for name in backends.raw if (family := backends.sub(name))}
    return RunPoint(str(path), run.str("commit", None), run.bool("dirty"), run.str("started", None),
                    [KeyFigure.from_json(f) for f in record.list("figures", required=True)],
                    _commit_time(run.str("commit", None)), families)


def fleet_machine(path: Path) -> str:
    """The fleet node a results file belongs to ('' outside a fleet folder)."""
    from harness.fleet.manifest import is_fleet, load_manifest

    if not is_fleet(path.parent):
        return ""
    node = next((n for n in load_manifest(path.parent).nodes if n.results == path.name), None)
    return node.name if node else path.name.removesuffix(".gz").removesuffix(".json")


def find_runs(folder: str | Path) -> tuple[list[RunPoint], list[str]]:
    """Every run under the folder (latest.json copies and fleet manifests left out; a fleet node's run keyed
    by its machine); what is skipped, and why."""
    from harness.fleet.manifest import MANIFEST

    root = Path(folder)
    if not root.is_dir():
        raise ResultsError(f"not a folder: {root}")
    found, skipped, seen = [], [], set()
    for path in sorted([*root.rglob("*.json"), *root.rglob("*.json.gz")]):
        if path.name.startswith("latest.") or path.name.startswith("containment-") or path.name == MANIFEST:
            continue
        try:
            point = _point(path)
        except (ResultsError, KeyError, TypeError, ValueError) as error:
            skipped.append(f"{path}: {error}")
            continue
        if isinstance(point, str):
            skipped.append(point)
            continue
        try:
            point.machine = fleet_machine(path)
        except ResultsError as error:
            skipped.append(f"{path}: {error}")
            continue
        key = (point.commit, point.started, point.machine)
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
            backend = figure.backend.split("/")[0]
            family, place = families[backend] if backend in families else ("", 0)
            at = f" @ {run.machine}" if run.machine else ""
            entry = history.series.setdefault(figure.name + at, HistorySeries(figure.backend + at, figure.metric,
                                                                              figure.unit, family, place))
            entry.points.append(HistoryPoint(index, run.label, run.commit, run.started, figure.value, figure.ci95,
                                             figure.n, figure.trials))
    for entry in history.series.values():
        points = entry.points
        steps = step_changes([p.value for p in points], [list(p.ci95) if p.ci95 else None for p in points],
                             threshold)
        entry.steps = [HistoryStep(step, points[step.index].label, points[step.index].run) for step in steps]
        entry.drift = same_commit_drift(points, {run.label: run.dirty for run in runs})
    return history


def same_commit_drift(points: list[HistoryPoint], dirty: dict[str, bool]) -> Drift | None:
    """The drift between runs of one clean commit (stats.drift_between_runs),
    for the commit with the most such runs (at least two): a variance
    component of its own, which no single run's interval contains. Runs of
    different commits are not pooled, since code changes are not drift."""
    by_commit: dict[str, list[HistoryPoint]] = {}
    for point in points:
        if point.commit and not dirty[point.label] and point.ci95:
            by_commit.setdefault(point.commit, []).append(point)
    if not by_commit:
        return None
    commit, same = max(by_commit.items(), key=lambda item: len(item[1]))
    cv = drift_between_runs([p.value for p in same], [p.ci95 for p in same]) if len(same) >= 2 else None
    return None if cv is None else Drift(cv, len(same), commit)


def to_json(history: History) -> dict:
    return {"runs": [{"label": r.label, "commit": r.commit, "dirty": r.dirty, "commit_time": r.commit_time,
                      "started": r.started, "source": r.source} for r in history.runs],
            "series": {name: entry.to_json() for name, entry in history.series.items()}, "skipped": history.skipped}


def to_markdown(history: History) -> str:
    lines = [f"History of {len(history.runs)} run(s), ordered by commit (runs without a commit by date).", ""]
    lines += ["| figure | unit | first | last | step changes | drift between runs of one commit (CV) |",
              "|---|---|---|---|---|---:|"]
    for name, entry in history.series.items():
        points = entry.points
        steps = "; ".join(
            f"{s.change.direction} {s.change.change:.2f}x at {s.label}"
            f"{'' if s.change.confirmed else ' (unconfirmed: one run)'}" for s in entry.steps) or "–"
        drift = entry.drift
        drift_text = f"{drift.cv:.1%} ({drift.runs} runs of {drift.commit[:8]})" if drift else "–"
        lines.append(f"| {name} | {entry.unit} | {points[0].value:.4g} | {points[-1].value:.4g} | {steps} "
                     f"| {drift_text} |")
    lines += ["", "Drift is the spread between runs of one clean commit beyond what their own intervals explain "
              "(harness/analysis/stats.py): absolute figures hold for one machine at one time; it says by how much "
              "they move between runs. Needs two or more runs of one commit."]
    if history.skipped:
        lines += ["", "Skipped:"] + [f"- {item}" for item in history.skipped]
    return "\n".join(lines) + "\n"
