"""Warm calls on one live instance per backend: in blocks, each block visiting
every backend in a new random order, in each CPU regime of the profile (idle
CPUs, CPUs held awake: harness/procedures/cpu_regime.py; a block of every
regime per round, the regimes in a new random order); within a block each
timed call (`instance.call(arg)`: request out, answer in) is followed by a
timed ping (a round trip that does not run the handler), so call and
transport share their time window. Then the in-engine loops
(harness/runtime/prelude.js), backends again in random order. The warm-up
calls come first, right after each instance's cold start, each timed and kept
apart from the figure: at least the profile's count, and more (in steps of
that count, up to WARMUP_CAP times it) while the changepoint detector says
the series has not settled (harness/analysis/steady_state.py). They are the
one contiguous series of a fresh instance, so they are what its steady state
is judged on; they run with the CPUs held awake when the profile measures
that regime (CPU wake-ups would otherwise hide the instance's own warm-up),
else as the machine is. GC is off while timing."""

from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from harness.analysis.estimate import estimate, paired_difference
from harness.analysis.summary_figures import CountedValue, Difference
from harness.analysis.steady_state import NO_STEADY_STATE, classify, over_trials
from harness.procedures.cpu_regime import AWAKE, IDLE, regime
from harness.procedures.instances import ARG, cold_start, engine_time
from harness.results.model import BackendResult, EngineTime, SteadyState
from harness.results.vocabulary import BELOW_RESOLUTION, REGIMES, Figure
from harness.suites.base import Records, Suite, parts, series
from harness.suites.records import record_fields

NS = 1e-9
WARMUP_CAP = 4  # the warm-up grows to at most this many times the profile's count
KEYS = {IDLE: "warm_call", AWAKE: "warm_call_awake"}  # CPU regime -> its record


@dataclass
class WarmCallRecord:
    """One CPU regime's timed warm calls and transport pings, in nanoseconds."""

    call_ns: list[int] = field(default_factory=list)
    ping_ns: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"call_ns": self.call_ns, "ping_ns": self.ping_ns}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "WarmCallRecord":
        f = record_fields(raw, what)
        return cls(call_ns=list(f.ints("call_ns", required=True)), ping_ns=list(f.ints("ping_ns", required=True)))


@dataclass
class WarmupRecord:
    """The warm-up calls before the timed blocks, in one CPU regime, and whether they settled."""

    call_ns: list[int]
    settled: bool
    regime: str

    def to_json(self) -> dict:
        return {"call_ns": self.call_ns, "settled": self.settled, "regime": self.regime}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "WarmupRecord":
        f = record_fields(raw, what)
        return cls(call_ns=list(f.ints("call_ns", required=True)), settled=f.bool("settled"),
                   regime=f.str("regime") or "idle")


@dataclass
class EngineRecord:
    """Time inside the engine: the handler alone and the bare loop, per measurement."""

    handler_ns: list[float] = field(default_factory=list)
    loop_ns: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    clock: str = ""
    clock_resolution_ns: float | None = None

    def add(self, result: Mapping[str, Any]) -> None:
        """One in-engine measurement (the engine's own JSON)."""
        f = record_fields(dict(result), "in-engine measurement")
        self.handler_ns.append(f.float("handler_ns", required=True))
        self.loop_ns.append(f.float("loop_ns", required=True))
        self.calls.append(f.int("calls", required=True))
        self.clock = f.str("clock")
        step = f.float("clock_resolution_ns")
        if step is not None:
            known = self.clock_resolution_ns
            self.clock_resolution_ns = float(step) if known is None else max(known, float(step))

    def to_json(self) -> dict:
        return {"handler_ns": self.handler_ns, "loop_ns": self.loop_ns, "calls": self.calls, "clock": self.clock,
                "clock_resolution_ns": self.clock_resolution_ns}

    @classmethod
    def from_json(cls, raw: object, what: str) -> "EngineRecord":
        f = record_fields(raw, what)
        return cls(handler_ns=list(f.numbers("handler_ns", required=True)),
                   loop_ns=list(f.numbers("loop_ns", required=True)), calls=list(f.ints("calls")),
                   clock=f.str("clock"), clock_resolution_ns=f.float("clock_resolution_ns"))


@dataclass
class SteadyStates:
    """The warm-up's steady-state class (harness/analysis/steady_state.py), one per classified series."""

    states: list[SteadyState] = field(default_factory=list)

    def to_json(self) -> list:
        return [state.to_json() for state in self.states]

    @classmethod
    def from_json(cls, raw: object, what: str) -> "SteadyStates":
        return cls([SteadyState.from_json(s, what) for s in (raw if isinstance(raw, list) else [])])


WARM_CALL = Figure("warm_call", "warm call", "µs", 1e6,
                   "One handler call on a live instance: perf_counter_ns around instance.call(arg), request out to "
                   "answer in.", ratio=True, tailed=True)
TRANSPORT = Figure("transport", "transport round trip", "µs", 1e6,
                   "One round trip through the backend's channel that does not run the handler (a ping), timed like "
                   "the warm call and interleaved with it.", ratio=True, tailed=True)
ENGINE = Figure("engine", "in-engine handler time", "ns", 1e9,
                "The handler's own time in the engine: a JS loop calls it with varied arguments and folds every answer "
                "into a checksum it returns, minus the same loop with the handler replaced by identity; shown only "
                "where it exceeds that loop's own cost and the clock's resolution.", series=False)


def _timed_pairs(instance, count: int, clock_ns) -> tuple[list[int], list[int]]:
    calls, pings = [], []
    call, ping = instance.call, instance.ping
    for _ in range(count):
        started = clock_ns()
        call(ARG)
        middle = clock_ns()
        ping()
        ended = clock_ns()
        calls.append(middle - started)
        pings.append(ended - middle)
    return calls, pings


def _warm_up(instance, count: int, clock_ns) -> tuple[list[int], bool]:
    """The warm-up calls (ns each, pings between them untimed), and whether the series settled."""
    calls: list[int] = []
    while True:
        for _ in range(count):
            started = clock_ns()
            instance.call(ARG)
            calls.append(clock_ns() - started)
            instance.ping()
        found = classify([c * 1e-9 for c in calls])
        unsettled = found is not None and found.classification == NO_STEADY_STATE
        if not unsettled or len(calls) >= WARMUP_CAP * count:
            return calls, not unsettled


@dataclass(frozen=True)
class WarmCallSettings:
    warm_blocks: int = 10  # blocks of calls; each block visits every backend in a new random order
    warm_block_calls: int = 100  # calls per backend per block (and as many pings)
    warm_warmup_calls: int = 200  # discarded calls on each warm instance first
    engine_repeats: int = 3  # in-engine timing loops per backend
    engine_min_ms: float = 20.0  # each in-engine loop lasts at least this long


@dataclass(frozen=True)
class SteadySummary:
    """A warm-call series' class over the trials in one CPU regime, the calls
    until steady state and the steady-state median (µs), both medians over the
    trials that settled (harness/analysis/steady_state.py)."""

    regime: str
    classification: str
    per_trial: tuple[str, ...]
    calls_until_steady: float | None
    steady_median_us: float | None

    def to_json(self) -> dict:
        return {"regime": self.regime, "class": self.classification, "per_trial": list(self.per_trial),
                "calls_until_steady": self.calls_until_steady, "steady_median_us": self.steady_median_us}


def steady_state_figures(result: BackendResult) -> dict[str, SteadySummary]:
    """Per CPU regime that has a verdict: how the warm-call series settles."""
    out = {}
    for cpus in REGIMES:
        verdict = over_trials(list(result.steady_state), cpus)
        if verdict:
            median = verdict.steady_median_s
            out[cpus] = SteadySummary(verdict.regime, verdict.classification, verdict.per_trial,
                                      verdict.calls_until_steady, median * 1e6 if median is not None else None)
    return out


def wake_cost(result: BackendResult) -> Difference | None:
    """What waking an idle CPU adds to a warm call here: the median warm call
    with idle CPUs minus the one with CPUs held awake, paired by trial."""
    if not result.warm_call or not result.warm_call_awake:
        return None
    found = paired_difference(result.warm_call, result.warm_call_awake)
    return Difference.of(found, WARM_CALL.scale) if found else None


@dataclass(frozen=True)
class EngineFigure:
    """The handler's own time per call in the engine (ns), or why it cannot be
    told: `net` is None, and `note` says so, when it is below resolution."""

    handler_loop_ns: float | None
    loop_ns: float
    clock: str
    clock_step_ns: float | None
    calls_per_loop: float
    resolution_ns: float
    net: CountedValue | None
    note: str | None = None

    def to_json(self) -> dict:
        out = {"handler_loop_ns": self.handler_loop_ns, "loop_ns": self.loop_ns, "clock": self.clock,
               "clock_step_ns": self.clock_step_ns, "calls_per_loop": self.calls_per_loop,
               "resolution_ns": self.resolution_ns, "net": self.net.to_json() if self.net else None}
        if self.net is None:
            out["note"] = self.note
        return out


def engine_figure(engine: EngineTime) -> EngineFigure:
    """The handler loop minus the identity loop, shown only where it is above the
    identity loop's own cost and above twice the clock's step spread over the calls."""
    handler = estimate(engine.handler_ns)
    loop = float(np.median(engine.loop_ns.array()))
    net = estimate(engine.net())
    calls = float(np.median(engine.calls)) if engine.calls else 0.0
    step = (engine.clock_resolution_ns or 0.0) / calls if calls else math.inf
    resolution = max(loop, 2 * step)
    shown = dict(handler_loop_ns=handler.value if handler else None, loop_ns=loop, clock=engine.clock,
                 clock_step_ns=engine.clock_resolution_ns, calls_per_loop=calls, resolution_ns=resolution)
    if net is None or net.value <= resolution:
        return EngineFigure(**shown, net=None,
                            note=f"{BELOW_RESOLUTION}: the handler adds {net.value if net else 0:.3g} ns per call to "
                                 f"a loop that costs {loop:.3g} ns per call alone (clock step "
                                 f"{engine.clock_resolution_ns or 0:.3g} ns over {calls:.0f} calls)")
    return EngineFigure(**shown, net=CountedValue(net.value, net.ci, net.n, net.trials))


class WarmCallSuite(Suite):
    name = "warm_call"
    label = "warm call, transport, in-engine"
    figures = (WARM_CALL, TRANSPORT, ENGINE, WARM_CALL.awake("warm_call_awake"), TRANSPORT.awake("transport_awake"))
    records = {**{key: WarmCallRecord for key in KEYS.values()}, "warmup": WarmupRecord, "engine": EngineRecord,
               "steady_state": SteadyStates}
    paired = True
    Settings = WarmCallSettings
    report = "warm_call"  # harness/report/markdown.py and plots.py

    def measure(self, trial) -> None:
        names = trial.members(self.name)
        profile = self.settings(trial.profile)
        live = {}
        try:
            for name in trial.order(names):
                try:
                    instance, _, answer = cold_start(trial.backends[name], trial.worker, ARG)
                    live[name] = (instance, answer)
                    with regime(trial.warmup_regime, trial.lever):
                        calls, settled = _warm_up(instance, profile.warm_warmup_calls, time.perf_counter_ns)
                    trial.record(name).put("warmup", WarmupRecord(list(calls), settled, trial.warmup_regime))
                except Exception as error:
                    trial.fail(self.name, name, error)
            total = (profile.warm_blocks * len(trial.regimes) + profile.engine_repeats) * len(live)
            with trial.progress.steps(self.label, total) as advance:
                self._blocks(trial, profile, live, advance)
                for _ in range(profile.engine_repeats):
                    for name in trial.order(list(live)):
                        advance()
                        if not trial.healthy(self.name, name):
                            continue
                        try:
                            trial.record(name).timed("engine").add(engine_time(live[name][0], profile.engine_min_ms))
                        except Exception as error:
                            trial.fail(self.name, name, error)
            for name, (instance, answer) in live.items():
                if trial.healthy(self.name, name):
                    try:
                        problem = trial.worker.answers.problem(instance.call(ARG), answer)
                        if problem:
                            raise AssertionError(f"warm {problem}")
                    except Exception as error:
                        trial.fail(self.name, name, error)
        finally:
            for instance, _ in live.values():
                try:
                    instance.stop()
                except Exception:
                    pass

    def _blocks(self, trial, profile: WarmCallSettings, live: dict, advance) -> None:
        """The timed blocks, GC off."""
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            for _ in range(profile.warm_blocks):
                for cpus in trial.regime_order():
                    with regime(cpus, trial.lever):
                        for name in trial.order(list(live)):
                            advance()
                            if not trial.healthy(self.name, name):
                                continue
                            try:
                                calls, pings = _timed_pairs(live[name][0], profile.warm_block_calls,
                                                            time.perf_counter_ns)
                            except Exception as error:
                                trial.fail(self.name, name, error)
                                continue
                            warm = trial.record(name).timed(KEYS[cpus])
                            warm.call_ns += calls
                            warm.ping_ns += pings
        finally:
            if gc_was_on:
                gc.enable()

    def close(self, trial) -> None:
        """Each backend's warm-up series classified, once, when the trial's
        measuring is done (harness/analysis/steady_state.py). Only the warm-up
        is: it is the one contiguous series of calls from the cold start on.
        The timed blocks are not, since other backends' blocks and the other
        regime run between them, so a change at a block's edge says what the
        machine did meanwhile, not how the instance settles."""
        for name in trial.spec.backends:
            warmup = trial.record(name).part("warmup")
            if warmup is None:
                continue
            state = classify([c * 1e-9 for c in warmup.call_ns], trial.spec.index, warmup.regime)
            if state:
                trial.record(name).put("steady_state", SteadyStates([state]))

    def summary(self, result: BackendResult) -> dict[str, Any]:
        out: dict[str, Any] = {}
        wake = wake_cost(result)
        if wake:
            out["wake_cost_us"] = wake
        steady = steady_state_figures(result)
        if steady:
            out["steady_state"] = steady
        if result.engine:
            out["engine_ns"] = engine_figure(result.engine)
        return out

    def merge(self, records: Records) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in KEYS.values():
            warm = parts(records, key)
            out[key] = series(((w.call_ns, t) for t, w in warm), NS)
            out[key.replace("warm_call", "transport")] = series(((w.ping_ns, t) for t, w in warm), NS)
        out["engine"] = _engine(parts(records, "engine"))
        out["warmup"] = series(((w.call_ns, t) for t, w in parts(records, "warmup")), NS)
        out["steady_state"] = tuple(state for _, s in parts(records, "steady_state") for state in s.states)
        return out


def _engine(found: list[tuple[int, EngineRecord]]) -> EngineTime | None:
    handler = series((e.handler_ns, t) for t, e in found)
    if handler is None:
        return None
    steps = [e.clock_resolution_ns for _, e in found if e.clock_resolution_ns is not None]
    return EngineTime(handler_ns=handler, loop_ns=series((e.loop_ns, t) for t, e in found),
                      clock=next((e.clock for _, e in found), ""),
                      clock_resolution_ns=max(steps) if steps else None,
                      calls=tuple(c for _, e in found for c in e.calls))


SUITE = WarmCallSuite()
