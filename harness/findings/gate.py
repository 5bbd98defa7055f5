"""The CI regression gate's policy, in one place: `python -m harness gate`
runs it, `.ci/run` calls that, and scripts/power_study.py judges its
committed runs with it (its measured false-alarm rate and power:
docs/power-study.md; the method: docs/regression-tracking.md).

Two checks on one measurement of this commit (the `ci` profile: cold start
and memory, in trials):

1. **A/B**: this commit against a base commit (HEAD~1), the trials of the two
   interleaved in pairs on this machine, the pairs resampled together
   (`compare` with `paired`);
2. **the baseline set**: this commit's side of the A/B against the committed
   runs of results/baseline/ci/, on the machine-independent ratios only,
   judged against how much they move between runs as well as within one.
   On another machine than the set's its verdicts are advice
   (`machine_bound`), and the A/B check alone gates.

A figure regresses when it is worse by more than THRESHOLD and significant
at ALPHA (each cold-start clock at ALPHA/2: harness/findings/compare.py).
The worst exit of the two checks is the gate's. A gate that fails (exit 1)
is measured again, REMEASURES times, and fails only if every measurement
fails: a one-off slowdown of a shared machine is not a regression. Bad input
(2) and Ctrl-C (130) are not measured again. Pure: the measuring is
harness/commands/gate.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.findings.compare import REGRESSION, CompareSettings, Comparison, compare
from harness.errors import EXIT_FAILED, EXIT_OK
from harness.results.model import Run

THRESHOLD = 0.10
ALPHA = 0.05
METRICS = ("cold_start", "memory")
PROFILE = "ci"
BASE = "HEAD~1"
BASELINE_SET = "results/baseline/ci"
REMEASURES = 1


@dataclass(frozen=True)
class GateSettings:
    threshold: float = THRESHOLD
    alpha: float = ALPHA
    metrics: tuple[str, ...] = METRICS
    profile: str = PROFILE
    base: str = BASE
    baseline_set: str = BASELINE_SET
    remeasures: int = REMEASURES
    clock: str = "both"
    statistic: str = "median"

    def __post_init__(self) -> None:
        if self.remeasures < 0:
            raise ValueError("remeasures must be 0 or more")
        self.ab_settings()  # the compare settings check the rest

    def ab_settings(self) -> CompareSettings:
        """The A/B check: both sides measured here, in pairs."""
        return CompareSettings(threshold=self.threshold, alpha=self.alpha, metrics=self.metrics, clock=self.clock,
                               statistic=self.statistic, paired=True)

    def set_settings(self) -> CompareSettings:
        """The baseline-set check: ratios only, advice on another machine."""
        return CompareSettings(threshold=self.threshold, alpha=self.alpha, metrics=self.metrics, clock=self.clock,
                               statistic=self.statistic, ratios_only=True, machine_bound=True)


@dataclass(frozen=True)
class GateVerdict:
    """The two checks' comparisons (None where a check did not run) and the gate's outcome."""

    ab: Comparison | None
    baseline_set: Comparison | None

    @property
    def ab_failed(self) -> bool:
        return bool(self.ab and self.ab.verdict == REGRESSION)

    @property
    def set_failed(self) -> bool:
        return bool(self.baseline_set and self.baseline_set.verdict == REGRESSION)

    @property
    def failed(self) -> bool:
        return self.ab_failed or self.set_failed

    @property
    def code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK


def judge(base: Run | None, head: Run, baselines: list[Run], settings: GateSettings = GateSettings()) -> GateVerdict:
    """Both checks on one measurement: head against base (if any), head against the baseline set (if any)."""
    ab = compare(base, head, settings.ab_settings()) if base is not None else None
    against = compare(baselines, head, settings.set_settings()) if baselines else None
    return GateVerdict(ab, against)


def worst(codes: list[int]) -> int:
    """The gate's exit from its parts' exits: the worst one (0 < 1 < 2 < 130)."""
    return max(codes, default=EXIT_OK)


def measure_again(code: int, attempt: int, settings: GateSettings = GateSettings()) -> bool:
    """After attempt `attempt` (0 for the first) ended with `code`: is the gate measured once more?"""
    return code == EXIT_FAILED and attempt < settings.remeasures
