"""The run manager: a run is T independent trials, each a fresh worker
process that measures every selected backend, interleaved in random orders
(pyperf's worker processes combined with randomized multiple interleaved
trials, Abedi and Brecht, ICPE 2017). This process only orchestrates: it
writes each trial's spec, starts `python -m harness.measure.trial_process`, waits,
and appends the trial's record to the journal the moment the trial ends. A
trial process that dies (a V8 fatal error, an OOM kill, SIGKILL) loses only
its own trial: it is journalled with its cause and the run goes on. The
results file, pytest-benchmark's JSON, is assembled from the journal.

An A/B run (`harness ab`) has two sides, each a checkout with its own
Python; their trials run in pairs, in a random order within each pair.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Mapping
from pathlib import Path

from harness import __version__
from harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_SKIPPED, UsageError
from harness.measure.assemble import Ending, assemble, suite_errors
from harness.measure.journal import (CalibrationEntry, Entry, Journal, JournalError, LostEntry, ResumedEntry,
                                     RunHeader, TrialEntry)
from harness.measure.stopping import Planner
from harness.measure.trial import TrialSpec, now_iso
from harness.measure.trial_record import TrialRecord, TrialRecordError
from harness.measure.options import RunOptions
from harness.paths import REPO_ROOT
from harness.results.model import InjectedDelay, Run
from harness.results.store import save

GRACE_S = 10.0  # after SIGTERM, before SIGKILL
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Side:
    """A checkout that trials run in: this one, or (A/B runs) the base's worktree."""

    name: str = ""  # "" for a plain run; "base" or "head" for A/B
    python: str = sys.executable
    cwd: Path = REPO_ROOT


@dataclass
class RunSetup:
    options: RunOptions
    out_dir: Path
    stamp: str
    sides: tuple[Side, ...] = (Side(),)
    pairs: int | None = None  # A/B runs: a fixed number of trial pairs
    name: str = ""  # results file name stem; default <stamp>-<profile>


@dataclass
class Outcome:
    runs: dict[str, Run]  # side -> Run ("" for a plain run)
    paths: dict[str, Path]
    code: int
    journal: Path | None  # kept when the run was interrupted
    messages: list[str] = field(default_factory=list)  # one line each, for stderr


# ---------------------------------------------------------------- one trial process

def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    for line in reversed(lines):
        if any(word in line for word in ("Fatal", "fatal", "Error", "error", "Killed", "abort")):
            return line[:240]
    return lines[-1][:240] if lines else ""


class TrialProcess:
    """Starts one trial process, relays its progress, waits for its record."""

    def __init__(self, display: "Display", timeout_s: float) -> None:
        self.display = display
        self.timeout_s = timeout_s

    def run(self, spec: TrialSpec, side: Side) -> tuple[TrialRecord | None, str]:
        with tempfile.TemporaryDirectory(prefix="isobench-trial-") as folder:
            spec_path, out, log = Path(folder, "spec.json"), Path(folder, "record.json"), Path(folder, "log.txt")
            spec_path.write_text(json.dumps(spec.to_json()))
            read_fd, write_fd = os.pipe()
            env = {**os.environ, "ISOBENCH_PROGRESS_FD": str(write_fd), "PYTHONPATH": str(side.cwd)}
            with open(log, "wb") as log_file:
                process = subprocess.Popen([side.python, "-m", trial_module(side.cwd), str(spec_path), str(out)],
                                           cwd=side.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
                                           stderr=subprocess.STDOUT, pass_fds=(write_fd,), start_new_session=True)
            os.close(write_fd)
            relay = threading.Thread(target=self._relay, args=(read_fd,), daemon=True)
            relay.start()
            try:
                code = process.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                self._stop(process)
                return None, f"did not finish within {self.timeout_s:.0f} s; killed"
            except BaseException:  # Ctrl-C or SIGTERM: the trial goes, the manager decides the rest
                self._stop(process)
                raise
            finally:
                self._kill_group(process.pid)
                relay.join(timeout=5)
            if out.exists():
                try:
                    return TrialRecord.from_json(json.loads(out.read_text())), ""
                except (OSError, json.JSONDecodeError, TrialRecordError) as error:
                    return None, f"its record is unreadable ({error})"
            detail = _last_line(log)
            why = f"killed by {_signal_name(code)}" if code < 0 else f"exited with status {code}"
            return None, f"the trial process {why}" + (f": {detail}" if detail else "")

    def _relay(self, fd: int) -> None:
        with os.fdopen(fd, "r", errors="replace") as stream:
            for line in stream:
                try:
                    self.display.suite(json.loads(line))
                except (json.JSONDecodeError, TypeError, KeyError):
                    continue

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=GRACE_S)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        TrialProcess._kill_group(process.pid)
        try:
            process.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def _kill_group(pgid: int) -> None:
        """Whatever the trial process left in its session (runners, probes, workerd) goes with it."""
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---------------------------------------------------------------- progress

class Display:
    """Progress on stderr: a bar on a terminal, a line per trial otherwise."""

    def __init__(self, total_hint: int) -> None:
        from harness.measure.progress import console

        self.console = console()
        self.live = self.console.is_terminal
        self._progress = None
        self._trials = self._suite = None
        self.total_hint = total_hint

    @contextmanager
    def running(self):
        if not self.live:
            yield self
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=self.console, transient=True) as progress:
            self._progress = progress
            self._trials = progress.add_task("trials", total=self.total_hint)
            self._suite = progress.add_task("", total=1, visible=False)
            yield self
        self._progress = None

    def trial_started(self, label: str) -> None:
        if self._progress is not None:
            self._progress.update(self._trials, description=label)

    def trial_ended(self, line: str, planned: int) -> None:
        if self._progress is not None:
            self._progress.update(self._trials, advance=1, total=max(planned, self.total_hint))
            self._progress.console.print(f"  {line}", highlight=False)
        else:
            print(f"  {line}", file=sys.stderr, flush=True)

    def suite(self, message: dict) -> None:
        if self._progress is not None:
            self._progress.update(self._suite, description=message["label"], completed=message["done"],
                                  total=max(1, message["total"]), visible=True)


# ---------------------------------------------------------------- plans, seeds, header

def direct_plan(options: RunOptions) -> dict[str, tuple[str, ...]]:
    """Every suite of the profile for every backend: one trial under plain `pytest bench`."""
    profile = options.run_profile()
    return {suite: tuple(options.backends) for suite in profile.suites}


def trial_seed(base: int, index: int, side: str) -> int:
    digest = hashlib.sha256(f"{base}/{index}/{side}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def make_header(options: RunOptions, sides: tuple[Side, ...], started: dict | None = None) -> RunHeader:
    """What the run is, recorded before its first trial: provenance (commit,
    dirty tree, load average) is taken now, not at the end."""
    from harness.backends import family_index
    from harness.backends.environment import describe_child_environment
    from harness.measure.machine import machine_info, provenance
    from harness.runtime.worker import load_worker

    worker = load_worker(options.worker)
    return RunHeader(
        run_id=options.run_id, options=options, provenance=started or provenance(__version__),
        machine=machine_info(), profile=options.run_profile().to_json(), worker=worker.describe(),
        conditions={"pinned_cpus": list(options.pin) if options.pin else None, "base_image": options.base_image,
                    "child_environment": describe_child_environment(options.inherit_env)},
        family_index={name: family_index(name) for name in options.backends},
        sides=tuple(side.name for side in sides),
        injected={name: InjectedDelay(ms=0.0, crash_trial=trial) for name, trial in options.inject_crash.items()})


# ---------------------------------------------------------------- the run

@dataclass
class Ledger:
    """The run's journal, its header, and the trial entries so far."""

    journal: Journal
    header: RunHeader
    entries: list[Entry]

    def add(self, entry: Entry) -> None:
        self.journal.append(entry)
        self.entries.append(entry)


class Manager:
    def __init__(self, setup: RunSetup) -> None:
        self.setup = setup
        self.options = setup.options
        self.profile = self.options.run_profile()
        self.started = time.monotonic()
        self.spent_before = 0.0  # trial time of an interrupted run being resumed
        self.display = Display(self.profile.stopping.min_trials * len(setup.sides))
        # A trial that takes longer than the whole run's budget (or 15 min) is stuck.
        self.process = TrialProcess(self.display, timeout_s=max(900.0, self.profile.stopping.budget_s))

    def run(self, resume: Path | None = None) -> Outcome:
        ledger = self._open(resume)
        header = ledger.header
        planner = Planner(self.profile, tuple(self.options.backends))
        status = "complete"
        try:
            with self.display.running():
                if self.options.inject_start_delay and not any(d.ms for d in header.injected.values()):
                    ledger.header = header = replace(header, injected=_calibrated(header.injected, self._calibrate()))
                    ledger.journal.append(CalibrationEntry(header.injected))
                self._trials(ledger, planner)
        except KeyboardInterrupt:
            status = "interrupted"
        return self._finish(ledger, planner, status)

    # -- opening -----------------------------------------------------------

    def _open(self, resume: Path | None) -> Ledger:
        if resume is not None:
            journal = Journal(resume)
            try:
                header, entries = journal.read()
            except JournalError as error:
                raise UsageError(str(error)) from None
            for entry in entries:
                if isinstance(entry, CalibrationEntry):
                    header = replace(header, injected=entry.injected)
            header = replace(header, resumed=(*header.resumed, now_iso()))
            journal.append(ResumedEntry(header.resumed[-1]))
            self.spent_before = sum(_duration(e) for e in entries)
            # A trial cut short by Ctrl-C was not a failure of the measurement: it is measured again.
            kept = [e for e in entries if isinstance(e, TrialEntry)
                    or (isinstance(e, LostEntry) and not e.cause.startswith(INTERRUPTED))]
            return Ledger(journal, header, kept)
        header = make_header(self.options, self.setup.sides)
        try:
            journal = Journal.create(self.journal_path(), header)
        except (JournalError, OSError) as error:
            raise UsageError(str(error)) from None
        return Ledger(journal, header, [])

    def journal_path(self) -> Path:
        return self.setup.out_dir / f"{self.stem}.journal.jsonl"

    @property
    def stem(self) -> str:
        return self.setup.name or f"{self.setup.stamp}-{self.options.profile}"

    # -- calibration of injected delays given as a share -------------------

    def _calibrate(self) -> dict[str, InjectedDelay]:
        """Median cold start of each backend with a delay given in %, measured
        now (one trial process of cold starts, on the side the delay goes to)."""
        import numpy as np

        delays = self.options.inject_start_delay
        names = tuple(n for n in self.options.backends if delays.get(n) and delays[n].percent is not None)
        if not names:
            return {name: InjectedDelay(ms=delay.ms or 0.0, kind=delay.kind) for name, delay in delays.items()}
        side = self.setup.sides[-1]
        spec = TrialSpec(index=-1, seed=trial_seed(self._seed(), -1, "calibration"), options=self.options,
                         plan={"cold_start": names}, side=side.name)
        self.display.trial_started("calibrating the injected delays")
        record, cause = self.process.run(spec, side)
        if record is None:
            raise UsageError(f"could not calibrate the injected delays: {cause}")
        out = {}
        for name, delay in delays.items():
            if delay.percent is None:
                out[name] = InjectedDelay(ms=delay.ms or 0.0, kind=delay.kind)
                continue
            cold = record.backends[name].part("cold_start") if name in record.backends else None
            walls = cold.wall_s if cold else []
            if not walls:
                raise UsageError(f"could not calibrate the injected delay of {name}: no cold start measured")
            median_ms = float(np.median(walls)) * 1e3
            out[name] = InjectedDelay(ms=median_ms * delay.percent / 100, percent=delay.percent,
                                      calibrated_median_ms=median_ms, kind=delay.kind)
        self.display.trial_ended("calibrated: " + ", ".join(
            f"{n} +{v.ms:.2f} ms" + (f" ({v.percent:g}% of {v.calibrated_median_ms:.1f} ms)"
                                     if v.percent is not None else "") for n, v in out.items()), 0)
        return out

    # -- the trials --------------------------------------------------------

    def _seed(self) -> int:
        if self.options.seed is None:
            raise RuntimeError("the run's seed is set when it starts")
        return self.options.seed

    def _trials(self, ledger: Ledger, planner: Planner) -> None:
        sides, entries = self.setup.sides, ledger.entries
        rng = random.Random(self._seed())
        index = 1 + max((_index(e) for e in entries), default=-1)
        durations = [_duration(e) for e in entries if _duration(e) > 0]
        while True:
            so_far = self._so_far(ledger)
            mean = sum(durations) / len(durations) * len(sides) if durations else 0.0
            elapsed = self.spent_before + time.monotonic() - self.started
            plan = self._plan(planner, index, so_far, elapsed, mean)
            if plan is None:
                return
            if not plan:  # this trial measures nothing: the next one may
                index += 1
                continue
            for side in rng.sample(sides, len(sides)):
                self._one(ledger, plan, index, side)
                durations.append(_duration(entries[-1]))
            index += 1

    def _plan(self, planner: Planner, index: int, so_far: Run | None, elapsed: float, mean: float):
        if self.setup.pairs is not None:
            if index >= self.setup.pairs:
                return None
            return {suite: tuple(self.options.backends) for suite in self.profile.suites
                    if planner.scheduled(suite, index)}
        return planner.plan(index, so_far, elapsed, mean)

    def _so_far(self, ledger: Ledger) -> Run | None:
        if self.setup.pairs is not None or not any(isinstance(e, TrialEntry) for e in ledger.entries):
            return None
        return assemble(ledger.header, ledger.entries, Ending("running"), side=self.setup.sides[-1].name or None)

    def _delayed(self, side: Side) -> bool:
        """Whether injected start delays apply to this side: A/B delays the head only."""
        return len(self.setup.sides) == 1 or side is self.setup.sides[-1]

    def _one(self, ledger: Ledger, plan: dict, index: int, side: Side) -> None:
        injected = ledger.header.injected.items()
        delays = {name: delay.ms for name, delay in injected if delay.ms}
        kinds = {name: delay.kind or "busy" for name, delay in injected if delay.ms}
        if not self._delayed(side):
            delays, kinds = {}, {}
        crash = tuple(name for name, trial in self.options.inject_crash.items() if trial == index)
        spec = TrialSpec(index=index, seed=trial_seed(self._seed(), index, side.name), options=self.options,
                         plan=plan, start_delays_ms=delays, start_delay_kinds=kinds, crash=crash, side=side.name,
                         pair=index if len(self.setup.sides) > 1 else None)
        label = f"trial {index}" + (f" ({side.name})" if side.name else "")
        self.display.trial_started(label)
        started = now_iso()
        began = time.monotonic()
        try:
            record, cause = self.process.run(spec, side)
        except KeyboardInterrupt:
            entry = LostEntry(index=index, cause=f"{INTERRUPTED} (Ctrl-C or SIGTERM)", started=started,
                              finished=now_iso(), seed=spec.seed, side=side.name, pair=spec.pair)
            ledger.add(entry)
            raise
        if record is not None:
            entry = TrialEntry(record)
            line = f"{label}: {time.monotonic() - began:.0f} s"
            failures = [f"{n}: {f}" for n, b in record.backends.items() for f in b.failures]
            if failures:
                line += f"; failed: {'; '.join(failures)[:200]}"
        else:
            entry = LostEntry(index=index, cause=cause, started=started, finished=now_iso(), seed=spec.seed,
                              side=side.name, pair=spec.pair)
            line = f"{label}: LOST: {cause}"
            self._clean_up()
        ledger.add(entry)
        self.display.trial_ended(line, planned=index + 1)

    def _clean_up(self, settle: bool = True) -> list[str]:
        from harness.measure.cleanup import clean_up_run

        return clean_up_run(self.options.run_id, self.options.backends, settle=settle)

    # -- the end -------------------------------------------------------------

    def _finish(self, ledger: Ledger, planner: Planner, status: str) -> Outcome:
        journal, header, entries = ledger.journal, ledger.header, ledger.entries
        complete = [e for e in entries if isinstance(e, TrialEntry)]
        lost = [e for e in entries if isinstance(e, LostEntry)]
        left = self._clean_up(settle=status == "interrupted" or bool(lost))
        messages = [f"removed what the run left behind: {', '.join(left)}"] if left else []
        if status == "complete" and lost:
            status = "some-trials-lost"
        if status == "complete" and any(b.failures for e in complete for b in e.record.backends.values()):
            status = "some-measurements-failed"
        if not complete:
            messages.append("no trial finished: no results were recorded"
                            + (f" (journal kept: {journal.path})" if status == "interrupted" else ""))
            if status != "interrupted":
                journal.path.unlink(missing_ok=True)
            return Outcome({}, {}, EXIT_INTERRUPTED if status == "interrupted" else EXIT_FAILED,
                           journal.path if status == "interrupted" else None, messages)
        runs, paths = {}, {}
        for side in self.setup.sides:
            side_header = header if self._delayed(side) else _without_delays(header)
            run = assemble(side_header, entries, Ending(status, now_iso(), tuple(os.getloadavg())),
                           side=side.name or None)
            if self.setup.pairs is None:
                run = _with_stops(run, planner.finish(run))
            suffix = f"-{side.name}" if side.name else ""
            path = save(run, self.setup.out_dir / f"{self.stem}{suffix}.json")
            if not side.name:
                save(run, self.setup.out_dir / "latest.json")
            runs[side.name], paths[side.name] = run.with_path(str(path)), path
        for entry in lost:
            where = f" ({entry.side})" if entry.side else ""
            messages.append(f"trial {entry.index}{where} lost: {entry.cause}")
        messages += suite_errors(entries)
        code = self._code(runs, status, lost, entries)
        if status == "interrupted":
            messages.append(f"interrupted; resume with: python -m harness run --resume {journal.path}")
            return Outcome(runs, paths, code, journal.path, messages)
        journal.path.unlink(missing_ok=True)
        return Outcome(runs, paths, code, None, messages)

    @staticmethod
    def _code(runs: dict[str, Run], status: str, lost: list[LostEntry], entries: list[Entry]) -> int:
        if status == "interrupted":
            return EXIT_INTERRUPTED
        failed = any(result.info.failures for run in runs.values() for result in run.backends.values())
        if lost or failed or suite_errors(entries):
            return EXIT_FAILED
        if any(not result.info.available for run in runs.values() for result in run.backends.values()):
            return EXIT_SKIPPED
        return EXIT_OK


def _with_stops(run: Run, stops) -> Run:
    from dataclasses import replace

    return replace(run, stopping=tuple(stops))


def trial_module(checkout: Path) -> str:
    """The trial process's module in a checkout. An A/B base from before it
    was renamed (December 2026) names it harness.measure.worker."""
    renamed = Path(checkout, "harness", "measure", "trial_process.py").exists()
    return "harness.measure.trial_process" if renamed else "harness.measure.worker"


def _index(entry: Entry) -> int:
    return entry.index if isinstance(entry, (TrialEntry, LostEntry)) else -1


def _duration(entry: Entry) -> float:
    source = entry.record if isinstance(entry, TrialEntry) else entry
    if not isinstance(source, (TrialRecord, LostEntry)):
        return 0.0
    try:
        start = datetime.datetime.fromisoformat(source.started)
        end = datetime.datetime.fromisoformat(source.finished)
    except (ValueError, TypeError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


# ---------------------------------------------------------------- one trial without a manager

def save_single_trial(spec: TrialSpec, record: dict, path: str | Path, started: dict | None = None) -> Path:
    """A results file from one trial run directly under `pytest bench` (provenance taken when it started)."""
    header = make_header(spec.options, (Side(),), started)
    entries = [TrialEntry(TrialRecord.from_json(record))]
    run = assemble(header, entries, Ending("complete", now_iso(), tuple(os.getloadavg())))
    return save(run, path)


def _without_delays(header: RunHeader) -> RunHeader:
    """The header as an undelayed side saw it: injected crashes kept, start delays dropped."""
    return replace(header, injected={name: InjectedDelay(ms=0.0, crash_trial=delay.crash_trial)
                                     for name, delay in header.injected.items() if delay.crash_trial is not None})


def _calibrated(recorded: Mapping[str, InjectedDelay], calibrated: Mapping[str, InjectedDelay]) -> dict:
    """The injected faults once the delays are calibrated: each backend's crash kept, its delay measured."""
    out = dict(recorded)
    for name, delay in calibrated.items():
        out[name] = replace(delay, crash_trial=recorded[name].crash_trial if name in recorded else None)
    return out
