"""When a run stops sampling: the plan of each next trial.

The first `min_trials` trials measure every suite of the profile on every
backend. After them, a figure is *known* once its hierarchical interval's
half-width is at most `target_half_width` (3%) of its value, and the next
trials measure only the backends whose figures in a suite are not known yet
(the reference backend stays in cold start and warm call as long as any other
backend does, so that every ratio stays paired by trial). The run stops when
every figure is known, at `max_trials`, or when another trial would not fit
in the profile's time budget; each figure records which of these stopped it
("precision", "max trials" or "time budget").
What each suite must know, whether it is adaptive or paired, and in which
trials it runs at all, each suite declares (harness/suites/base.py): density
and concurrency, capacity sweeps, run in a fixed number of trials spread over
the first ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.analysis.estimate import estimate
from harness.results.model import BackendResult, FigureStop, Profile, Run
from harness.suites import SUITES
from harness.suites.base import Suite

PRECISION, MAX_TRIALS, TIME_BUDGET = "precision", "max trials", "time budget"


def half_widths(result: BackendResult, suite: Suite) -> dict[str, float | None]:
    """The figures a suite must know (Suite.known_by), each with its interval's relative half-width
    (None: not enough data)."""
    def width(series):
        found = estimate(series) if series else None
        return found.half_width if found else None

    return {figure: width(series) for figure, series in suite.known_by(result).items()}


@dataclass
class Planner:
    profile: Profile
    backends: tuple[str, ...]
    stops: dict[str, FigureStop] = field(default_factory=dict)  # "backend/figure" -> why it stopped

    def scheduled(self, suite: str, index: int) -> bool:
        """Whether trial index measures this suite at all (Suite.scheduled)."""
        return SUITES[suite].scheduled(self.profile, index)

    def plan(self, index: int, run: Run | None, elapsed_s: float, trial_s: float) -> dict[str, tuple[str, ...]] | None:
        """The next trial's suites and backends, or None when the run is done."""
        profile = self.profile
        if index >= profile.stopping.max_trials:
            return None
        if index >= profile.stopping.min_trials and elapsed_s + trial_s > profile.stopping.budget_s:
            return None
        names = [n for n in self.backends if run is None or index < 1 or self._could_run(run, n)]
        plan: dict[str, tuple[str, ...]] = {}
        for suite in profile.suites:
            if not self.scheduled(suite, index):
                continue
            if not SUITES[suite].adaptive or index < profile.stopping.min_trials or run is None:
                plan[suite] = tuple(names)
                continue
            wanted = [n for n in names if self._unknown(run, n, suite)]
            if SUITES[suite].paired and run.reference and wanted and run.reference in names \
                    and run.reference not in wanted:
                wanted = [n for n in names if n in wanted or n == run.reference]
            if wanted:
                plan[suite] = tuple(wanted)
        if index >= profile.stopping.min_trials and not any(SUITES[s].adaptive for s in plan):
            return None
        found = {suite: members for suite, members in plan.items() if members}
        if not found and index < profile.stopping.min_trials:
            return {}  # nothing in this trial (a capacity sweep alone runs in later ones): skip it
        return found or None

    @staticmethod
    def _could_run(run: Run, name: str) -> bool:
        result = run.backend(name)
        return result is None or result.info.available

    def _unknown(self, run: Run, name: str, suite: str) -> bool:
        result = run.backend(name)
        if result is None or not result.info.available:
            return False
        widths = half_widths(result, SUITES[suite])
        trials = len(run.complete_trials)
        unknown = False
        for figure, width in widths.items():
            key = f"{name}/{figure}"
            if width is not None and width <= self.profile.stopping.target_half_width:
                self.stops.setdefault(key, FigureStop(key, trials, width, PRECISION))
            elif key not in self.stops:
                unknown = True
        return unknown

    def finish(self, run: Run) -> tuple[FigureStop, ...]:
        """Why each adaptive figure stopped: known in time, or the budget ran out."""
        out = dict(self.stops)
        trials = len(run.complete_trials)
        for name, result in run.backends.items():
            for suite in (s for s in SUITES.values() if s.adaptive):
                for figure, width in half_widths(result, suite).items():
                    key = f"{name}/{figure}"
                    if key not in out:
                        known = width is not None and width <= self.profile.stopping.target_half_width
                        why = PRECISION if known else (MAX_TRIALS if trials >= self.profile.stopping.max_trials else TIME_BUDGET)
                        out[key] = FigureStop(key, trials, width, why)
        return tuple(out[key] for key in sorted(out))
