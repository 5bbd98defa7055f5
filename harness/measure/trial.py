"""One trial, inside its own worker process: the backends it prepared, the
plan it was given, the random orders it visits them in, and the record it
fills. The run manager (harness/measure/manager.py) writes a TrialSpec,
starts `python -m harness.measure.trial_process SPEC OUT`, and reads the trial
record the process leaves at OUT; the suites (harness/suites/) do the
measuring, run by `run_suites`."""

from __future__ import annotations

import datetime
import json
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.measure.options import RunOptions
from harness.results.fields import Fields
from harness.measure.trial_record import BackendDescription, BackendTrialRecord, TrialRecord

PROTOCOL = 1  # bumped when a spec or record changes shape; `ab` refuses a base that speaks another


class TrialError(Exception):
    """A spec or record that cannot be used (one line)."""


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


@dataclass(frozen=True)
class TrialSpec:
    """What one trial process measures."""

    index: int
    seed: int
    options: RunOptions
    plan: dict[str, tuple[str, ...]]  # suite -> backends, in registry order
    start_delays_ms: dict[str, float] = field(default_factory=dict)  # test-only injected delays
    start_delay_kinds: dict[str, str] = field(default_factory=dict)  # busy (the default) or sleep
    crash: tuple[str, ...] = ()  # test-only: backends that host a crashing worker in this trial
    side: str = ""  # A/B runs: "base" or "head"
    pair: int | None = None
    protocol: int = PROTOCOL

    def to_json(self) -> dict:
        return {"protocol": self.protocol, "index": self.index, "seed": self.seed, "options": self.options.to_json(),
                "plan": {suite: list(names) for suite, names in self.plan.items()},
                "start_delays_ms": dict(self.start_delays_ms), "start_delay_kinds": dict(self.start_delay_kinds),
                "crash": list(self.crash), "side": self.side,
                "pair": self.pair}

    @staticmethod
    def from_json(raw: dict) -> "TrialSpec":
        f = Fields(raw, "trial spec", TrialError)
        if f.value("protocol") != PROTOCOL:
            raise TrialError(f"trial protocol {f.value('protocol')!r} is not {PROTOCOL} (a harness of another version)")
        plan = f.sub("plan", required=True)
        return TrialSpec(index=f.int("index", required=True), seed=f.int("seed", required=True),
                         options=RunOptions.from_json(f.dict("options", required=True)),
                         plan={suite: plan.strs(suite) for suite in plan.raw},
                         start_delays_ms=f.floats_by_name("start_delays_ms"),
                         start_delay_kinds={k: str(v) for k, v in f.dict("start_delay_kinds").items()},
                         crash=f.strs("crash"), side=f.str("side"), pair=f.int("pair", None))

    @property
    def backends(self) -> list[str]:
        """Every backend any suite of this trial measures, in the run's order."""
        wanted = {name for names in self.plan.values() for name in names}
        return [name for name in self.options.backends if name in wanted]


class Progress:
    """Progress lines for the run manager (JSON on the fd it passed in
    ISOBENCH_PROGRESS_FD), or a rich bar when the suites run under plain `pytest bench`."""

    def __init__(self) -> None:
        fd = os.environ.get("ISOBENCH_PROGRESS_FD")
        self._out = os.fdopen(int(fd), "w", buffering=1) if fd else None

    @contextmanager
    def steps(self, label: str, total: int):
        if self._out is None:
            from harness.measure.progress import steps

            with steps(label, total) as advance:
                yield advance
            return
        done = [0]

        def advance(amount: int = 1) -> None:
            done[0] += amount
            self._send({"label": label, "done": done[0], "total": total})

        self._send({"label": label, "done": 0, "total": total})
        yield advance

    def _send(self, message: dict) -> None:
        try:
            self._out.write(json.dumps(message) + "\n")
        except OSError:  # the manager went away; measuring goes on
            self._out = None


class Trial:
    """The trial the suites measure: prepared backends, plan, orders, record.
    A suite reads `members`, `order`, `regime_order`, `healthy`, `profile`,
    `worker`, `backends`, `lever` and `progress`, and puts what it measured in
    `record(name)` (or `fail`s the backend)."""

    def __init__(self, spec: TrialSpec, worker, backends: dict, info: dict[str, BackendDescription],
                 unavailable: dict[str, str]) -> None:
        self.spec, self.profile, self.worker = spec, spec.options.run_profile(), worker
        self.backends = backends  # name -> prepared Backend
        self.rng = random.Random(spec.seed)
        self.progress = Progress()
        self.started = now_iso()
        self.load_average_at_start = list(os.getloadavg())
        self._records = {name: BackendTrialRecord(info=info.get(name), unavailable=unavailable.get(name))
                         for name in spec.backends}
        self._broken: dict[str, set[str]] = {}
        self.suite_errors: list[str] = []
        self.measured: dict[str, list[str]] = {}
        self.suite_seconds: dict[str, float] = {}
        self.startup_seconds = _since_process_start()
        from harness.procedures.cpu_regime import AwakeLever, regimes_here

        self.lever = AwakeLever()
        self.regimes = regimes_here(self.profile.regimes, self.lever)
        if len(self.regimes) < len(self.profile.regimes):
            warn(f"CPU regime awake not measured: {self.lever.reason}")

    # ------------------------------------------------------------ who, in which order

    def members(self, suite: str) -> list[str]:
        """The backends this trial measures in `suite` that are up and have not failed it."""
        broken = self._broken.get(suite, set())
        names = [n for n in self.spec.plan.get(suite, ()) if n in self.backends and n not in broken]
        if names:
            self.measured[suite] = list(names)
        return names

    def healthy(self, suite: str, name: str) -> bool:
        return name not in self._broken.get(suite, set())

    def order(self, names: list[str]) -> list[str]:
        """A new random order (the trial's seed makes it reproducible)."""
        shuffled = list(names)
        self.rng.shuffle(shuffled)
        return shuffled

    def fail(self, suite: str, name: str, error: BaseException) -> None:
        """The backend failed in this suite: recorded, and left out of the rest of the suite."""
        lines = str(error).strip().splitlines() or [""]
        message = f"{error.__class__.__name__}: {lines[0][:300]}".rstrip(": ")
        self._records[name].failures.append(f"{suite}: {message}")
        self._broken.setdefault(suite, set()).add(name)

    @property
    def warmup_regime(self) -> str:
        """The warm-up's CPU regime: held awake where this trial measures that regime."""
        from harness.procedures.cpu_regime import AWAKE, IDLE

        return AWAKE if AWAKE in self.regimes else IDLE

    def regime_order(self) -> list[str]:
        """This trial's CPU regimes in a new random order."""
        return self.order(list(self.regimes))

    # ------------------------------------------------------------ recording

    def record(self, name: str) -> BackendTrialRecord:
        return self._records[name]

    def run(self, suite) -> BaseException | None:
        """One suite of the plan: timed, and an error in its own code (not a
        backend's: those are `fail`ed) kept in the record and returned."""
        if not self.members(suite.name):
            return None
        began = time.monotonic()
        try:
            suite.measure(self)
        except Exception as error:
            lines = str(error).strip().splitlines() or [""]
            self.suite_errors.append(f"{suite.name}: {error.__class__.__name__}: {lines[0][:300]}")
            return error
        finally:
            self.suite_seconds[suite.name] = round(time.monotonic() - began, 3)
        return None

    def run_plan(self) -> None:
        """Every suite of the plan, in the registry's order."""
        from harness.suites import SUITES

        for suite in SUITES.values():
            if suite.name in self.spec.plan:
                self.run(suite)

    def finish(self, facts: dict[str, dict] | None = None) -> TrialRecord:
        """The trial's record, with each backend's facts (read when it closed)."""
        for name, extra in (facts or {}).items():
            if self._records[name].info is not None:
                self._records[name].info.facts = extra
        return TrialRecord(protocol=PROTOCOL, index=self.spec.index, seed=self.spec.seed, side=self.spec.side,
                           pair=self.spec.pair, pid=os.getpid(), started=self.started, finished=now_iso(),
                           load_average_at_start=self.load_average_at_start, suites=self.measured,
                           startup_seconds=self.startup_seconds, suite_seconds=self.suite_seconds,
                           suite_errors=self.suite_errors,
                           cpu_regimes={"measured": list(self.regimes), "awake": self.lever.describe()},
                           backends=self._records)

    def to_json(self, facts: dict[str, dict] | None = None) -> dict:
        return self.finish(facts).to_json()


def _since_process_start() -> float | None:
    """Seconds from this process's start to now: interpreter, imports, preparing the backends."""
    try:
        import time

        import psutil

        return round(time.time() - psutil.Process().create_time(), 3)
    except Exception:
        return None


def write_record(path: str | Path, record: dict) -> None:
    from harness.results.store import write_atomic

    write_atomic(path, json.dumps(record, separators=(",", ":")))


def read_spec(path: str | Path) -> TrialSpec:
    try:
        return TrialSpec.from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise TrialError(f"cannot read trial spec {path}: {error}") from None


def warn(message: str) -> None:
    print(f"isobench trial: {message}", file=sys.stderr, flush=True)
