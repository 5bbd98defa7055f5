"""The key figures of a run, each with its interval: what history plots, the
exporters write, and a run's small history file keeps (so the history of
many runs does not need their raw samples)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.analysis.estimate import estimate, paired_ratio
from harness.results.model import Run, Series
from harness.results.vocabulary import MEMORY_KINDS, MIB
from harness.suites import FIGURES, RATIO_TIMINGS, SUITES, TIMINGS as ALL_TIMINGS

KEY_FIGURES_SCHEMA = "isobench-key-figures/1"
TIMINGS = tuple(key for key in ALL_TIMINGS if FIGURES[key].regime == "idle")  # absolute figures: idle CPUs


@dataclass(frozen=True)
class KeyFigure:
    name: str  # e.g. "cold_start/subprocess", "cold_start_ratio/container/isolate"
    backend: str  # a backend, or "x/reference" for a ratio
    metric: str
    unit: str
    value: float
    ci95: tuple[float, float] | None
    n: int
    trials: int
    higher_is_better: bool = False  # rates; every other key figure is smaller-is-better

    def to_json(self) -> dict:
        out = asdict(self)
        out["ci95"] = list(self.ci95) if self.ci95 else None
        return out

    @staticmethod
    def from_json(raw: dict) -> "KeyFigure":
        ci = raw.get("ci95")
        return KeyFigure(raw["name"], raw["backend"], raw["metric"], raw["unit"], float(raw["value"]),
                         (float(ci[0]), float(ci[1])) if ci else None, int(raw.get("n", 0)), int(raw.get("trials", 0)),
                         bool(raw.get("higher_is_better", False)))


def key_figures(run: Run) -> list[KeyFigure]:
    out = []
    for name in run.measured:
        result = run.backends[name]
        for key in TIMINGS:
            series = result.timing(key)
            found = estimate(series) if series else None
            if found:
                scaled = found.scaled(FIGURES[key].scale)
                out.append(KeyFigure(f"{key}/{name}", name, key, FIGURES[key].unit, scaled.value, scaled.ci,
                                     found.n, found.trials))
        if result.memory:
            for kind in result.memory.kinds:
                if kind in MEMORY_KINDS and MEMORY_KINDS[kind].headline:
                    found = estimate(result.memory.per_instance(kind))
                    if found:
                        scaled = found.scaled(1 / MIB)
                        out.append(KeyFigure(f"memory_{kind}/{name}", name, f"memory_{kind}", "MiB", scaled.value,
                                             scaled.ci, found.n, found.trials))
        for suite in SUITES.values():
            for key in suite.key_series(result):
                found = estimate(key.series)
                if found:
                    out.append(KeyFigure(f"{key.metric}/{name}", name, key.metric, key.unit, found.value, found.ci,
                                         found.n, found.trials, key.higher_is_better))
    ref = run.reference
    for name in run.measured:
        if ref is None or name == ref:
            continue
        for key, x, y in ratio_pairs(run, name):
            found = paired_ratio(x, y) if x and y else None
            if found:
                out.append(KeyFigure(f"{key}_ratio/{name}/{ref}", f"{name}/{ref}", f"{key}_ratio", "x", found.value,
                                     found.ci, found.n, found.trials))
    return out


def ratio_pairs(run: Run, name: str) -> list[tuple[str, Series | None, Series | None]]:
    """(figure, name's series, the reference's) for every figure taken as a ratio over the reference:
    the ratio timings, then the memory kinds that are ratios and that both measured."""
    mine, theirs = run.backends[name], run.backends[run.reference]
    pairs = [(key, mine.timing(key), theirs.timing(key)) for key in RATIO_TIMINGS]
    if mine.memory and theirs.memory:
        pairs += [(f"memory_{kind}", mine.memory.per_instance(kind), theirs.memory.per_instance(kind))
                  for kind, spec in MEMORY_KINDS.items()
                  if spec.ratio and kind in mine.memory.kinds and kind in theirs.memory.kinds]
    return pairs


def history_record(run: Run) -> dict:
    """A run's small history file: who and when, and its key figures."""
    return {"schema": KEY_FIGURES_SCHEMA,
            "run": {"commit": run.provenance.commit, "dirty": run.provenance.dirty, "started": run.provenance.started,
                    "profile": run.profile.name, "status": run.status, "trials": len(run.complete_trials),
                    "injected": bool(run.injected), "source": run.path,
                    "backends": {name: {"family": r.info.family, "family_index": r.info.family_index}
                                 for name, r in run.backends.items()}},
            "figures": [figure.to_json() for figure in key_figures(run)]}
