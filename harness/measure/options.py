"""The options of a run, declared once: `python -m harness run`, `ab` and
`pytest bench` all take them from here (argparse and pytest spell them
differently: `--backends` there, `--isobench-backends` here), and all turn what
was given into one checked `RunOptions`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from harness.errors import UsageError
from harness.results.fields import Fields


@dataclass(frozen=True)
class Option:
    name: str  # e.g. "backends": --backends (argparse), --isobench-backends (pytest)
    help: str
    default: str | None = None
    metavar: str | None = None
    hidden: bool = False  # test-only options stay out of --help
    # Listed in the help only: run_options checks the value, so a wrong one is one line, not argparse's usage.
    choices: Callable[[], tuple[str, ...]] | None = None


def _profile_names() -> tuple[str, ...]:
    from harness.measure.profiles import PROFILES

    return tuple(PROFILES)


def _suite_names():
    from harness.suites import SUITES

    return SUITES


def _default_backends() -> str:
    from harness.backends import DEFAULT_BACKENDS

    return ",".join(DEFAULT_BACKENDS)


OPTIONS = (
    Option("backends", "comma-separated backends, or 'all' (default: %(default)s)", metavar="NAMES"),
    Option("profile", "how much to measure: %(choices)s (default: %(default)s; see docs/methodology.md)",
           default="quick", choices=_profile_names),
    Option("suites", "comma-separated suites to run instead of the profile's: %(choices)s", metavar="NAMES",
           choices=lambda: tuple(_suite_names())),
    Option("workload", "workloads/NAME to run: NAME[,NAME...] or all, one run each, kept in one file "
           "(default: hello; see docs/workloads.md)", metavar="NAMES"),
    Option("worker", "a worker file of your own instead of a workload (handler or module form; docs/workloads.md)",
           metavar="PATH"),
    Option("pin", "pin the harness, its children and containers to these CPUs, e.g. 0 or 0-1", metavar="CPUS"),
    Option("base-image", "container backends: build FROM this registry image (e.g. node:20-slim) instead of scratch",
           metavar="IMAGE"),
    Option("inherit-env", "comma-separated host variables that child processes keep (default: none)", default="",
           metavar="VARS"),
    Option("run-id", "label for this run's containers (default: date and a random suffix)", metavar="ID"),
    Option("seed", "seed of the random backend orders (default: a fresh one, recorded)", metavar="N"),
    # Test-only: BACKEND=MS or BACKEND=P% busy-waits in that backend's start; recorded as injected.
    Option("inject-start-delay", "TEST ONLY: BACKEND=MS or BACKEND=P%,... delay in that backend's start",
           default="", hidden=True),
    # Test-only: BACKEND@TRIAL runs the hostile crash worker in that backend during that trial.
    Option("inject-crash", "TEST ONLY: BACKEND@TRIAL: that trial's third start of that backend hosts a crashing "
           "worker", default="", hidden=True),
)


def _help(option: Option) -> str:
    return option.help.replace("%(choices)s", ", ".join(option.choices()) if option.choices else "")


def add_to_argparse(parser, skip: tuple[str, ...] = ()) -> None:
    for option in OPTIONS:
        if option.name in skip:
            continue
        default = _default_backends() if option.name == "backends" else option.default
        kwargs = {"default": default, "metavar": option.metavar}
        parser.add_argument(f"--{option.name}", help="==SUPPRESS==" if option.hidden else _help(option), **kwargs)


def add_to_pytest(group) -> None:
    for option in OPTIONS:
        default = _default_backends() if option.name == "backends" else option.default
        kwargs = {"default": default, "metavar": option.metavar}
        help_text = _help(option).replace("%(default)s", str(default))
        group.addoption(f"--isobench-{option.name}", help=help_text, **kwargs)


def given(read: Callable[[str], object]) -> Callable[[str], str | None]:
    """The run options as given, by name: `read(name)` of an argparse namespace or a pytest config,
    with an empty value as None. A name that is not an option is a KeyError."""
    names = {option.name for option in OPTIONS}

    def value(name: str) -> str | None:
        if name not in names:
            raise KeyError(f"no run option {name!r}")
        found = read(name)
        return None if found is None or found == "" else str(found)
    return value


# ---------------------------------------------------------------- the checked options

@dataclass(frozen=True)
class StartDelay:
    """Test-only: a delay in one backend's start, in ms or as a share of its own median cold start: a
    busy-wait (costs CPU time as well as wall time) or a sleep (wall time only, as a slower handshake)."""

    ms: float | None = None
    percent: float | None = None
    kind: str = "busy"  # busy or sleep

    def to_json(self) -> dict:
        return {"ms": self.ms, "percent": self.percent, "kind": self.kind}


@dataclass(frozen=True)
class RunOptions:
    backends: tuple[str, ...]
    profile: str
    worker: str | None = None  # path; None: the hello worker
    suites: tuple[str, ...] = ()  # --suites: these instead of the profile's (empty: the profile's)
    workloads: tuple[str, ...] = ()  # --workload: several mean one run each (commands/run.py); worker is the first's
    pin: tuple[int, ...] | None = None
    base_image: str | None = None
    inherit_env: tuple[str, ...] = ()
    run_id: str = ""
    seed: int | None = None
    inject_start_delay: dict[str, StartDelay] = field(default_factory=dict)
    inject_crash: dict[str, int] = field(default_factory=dict)  # backend -> trial index
    # Backends the worker needs a global from that they lack -> why (preflight.api_exclusions);
    # every trial records them unavailable for this worker.
    lacking_api: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"backends": list(self.backends), "profile": self.profile, "suites": list(self.suites),
                "worker": self.worker,
                "workloads": list(self.workloads), "pin": list(self.pin) if self.pin is not None else None, "base_image": self.base_image,
                "inherit_env": list(self.inherit_env), "run_id": self.run_id, "seed": self.seed,
                "inject_start_delay": {k: v.to_json() for k, v in self.inject_start_delay.items()},
                "inject_crash": dict(self.inject_crash), "lacking_api": dict(self.lacking_api)}

    @staticmethod
    def from_json(raw: object, where: str = "run options", error: type[Exception] = ValueError) -> "RunOptions":
        f = Fields(raw, where, error)
        delays = f.sub("inject_start_delay") or Fields({}, where, error)
        crashes = f.sub("inject_crash") or Fields({}, where, error)
        return RunOptions(
            backends=f.strs("backends", required=True), profile=f.str("profile", required=True),
            suites=f.strs("suites"), worker=f.str("worker", None), workloads=f.strs("workloads"),
            pin=f.ints("pin") if f.has("pin") else None, base_image=f.str("base_image", None),
            inherit_env=f.strs("inherit_env"), run_id=f.str("run_id"), seed=f.int("seed", None),
            inject_start_delay={name: StartDelay(**delays.dict(name)) for name in delays.raw},
            inject_crash={name: crashes.int(name, required=True) for name in crashes.raw},
            lacking_api={str(k): str(v) for k, v in f.dict("lacking_api").items()})

    def run_profile(self):
        """The profile this run measures with: the named one, with --suites in place of its suites."""
        from harness.measure.profiles import get_profile

        profile = get_profile(self.profile)
        return replace(profile, suites=self.suites) if self.suites else profile

    def with_run_id(self, run_id: str) -> "RunOptions":
        return replace(self, run_id=run_id)

    def per_workload(self) -> list["RunOptions"]:
        """One run's options per workload (the run id gains the workload's name); itself when it has one."""
        from harness.runtime.worker import workload_file

        if len(self.workloads) <= 1:
            return [self]
        return [replace(self, worker=str(workload_file(name)), workloads=(name,), run_id=f"{self.run_id}-{name}")
                for name in self.workloads]


def parse_cpus(text: str) -> set[int]:
    """'0', '0,1', '0-3' -> a set of CPU numbers."""
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"bad CPU list {text!r}: expected e.g. 0 or 0,1 or 0-3") from None
        if first > last or first < 0:
            raise ValueError(f"bad CPU range {part!r} in {text!r}")
        cpus.update(range(first, last + 1))
    if not cpus:
        raise ValueError(f"bad CPU list {text!r}: empty")
    return cpus


_DELAY = re.compile(r"^\s*([\w.-]+)\s*=\s*([0-9.]+)\s*(%?)\s*(?::\s*(busy|sleep))?\s*$")


def parse_start_delays(text: str, known: tuple[str, ...] | list[str]) -> dict[str, StartDelay]:
    """'subprocess=40,container=15%:sleep' -> {backend: StartDelay}; ValueError on bad input."""
    delays: dict[str, StartDelay] = {}
    for part in (p for p in (text or "").split(",") if p.strip()):
        match = _DELAY.match(part)
        value = float(match.group(2)) if match and match.group(2).count(".") <= 1 else -1.0
        if not match or not math.isfinite(value) or value < 0:
            raise ValueError(f"bad start delay {part!r}: expected BACKEND=MS or BACKEND=P%, optionally :busy "
                             "or :sleep, e.g. subprocess=40 or container=15%:sleep")
        name = match.group(1)
        if name not in known:
            raise ValueError(f"bad start delay {part!r}: backend {name!r} is not in this run ({', '.join(known)})")
        kind = match.group(4) or "busy"
        delays[name] = StartDelay(percent=value, kind=kind) if match.group(3) else StartDelay(ms=value, kind=kind)
    return delays


def parse_crashes(text: str, known: tuple[str, ...] | list[str]) -> dict[str, int]:
    """'isolate@1' -> {backend: trial}; ValueError on bad input."""
    crashes: dict[str, int] = {}
    for part in (p.strip() for p in (text or "").split(",") if p.strip()):
        name, at, trial = part.partition("@")
        if not at or not trial.isdigit():
            raise ValueError(f"bad injected crash {part!r}: expected BACKEND@TRIAL, e.g. isolate@1")
        if name not in known:
            raise ValueError(f"bad injected crash {part!r}: backend {name!r} is not in this run ({', '.join(known)})")
        crashes[name] = int(trial)
    return crashes


def run_options(value: Callable[[str], str | None]) -> RunOptions:
    """Check what was given (see `given`); bad input is one UsageError line."""
    from harness.backends import parse_backend_names
    from harness.measure.profiles import get_profile
    from harness.runtime.worker import WorkerError, load_worker, parse_workloads, workload_file

    try:
        names = tuple(parse_backend_names(value("backends") or _default_backends()))
        profile = get_profile(value("profile") or "quick").name
        suites = tuple(s.strip() for s in (value("suites") or "").split(",") if s.strip())
        unknown = [s for s in suites if s not in _suite_names()]
        if unknown:
            raise ValueError(f"unknown suite {unknown[0]!r}; choose among: {', '.join(_suite_names())}")
        pin = tuple(sorted(parse_cpus(value("pin")))) if value("pin") else None
        if value("worker") and value("workload"):
            raise ValueError("give --worker (a file of your own) or --workload (workloads/NAME), not both")
        workloads = tuple(parse_workloads(value("workload"))) if value("workload") else ()
        worker = (str(Path(value("worker")).resolve()) if value("worker")
                  else str(workload_file(workloads[0])) if workloads else None)
        load_worker(worker)
        delays = parse_start_delays(value("inject-start-delay") or "", names)
        crashes = parse_crashes(value("inject-crash") or "", names)
        seed = int(value("seed")) if value("seed") else None
    except (ValueError, WorkerError) as error:
        raise UsageError(str(error)) from None
    inherit = tuple(v.strip() for v in (value("inherit-env") or "").split(",") if v.strip())
    return RunOptions(backends=names, profile=profile, suites=suites, worker=worker, workloads=workloads, pin=pin,
                      base_image=value("base-image"), inherit_env=inherit,
                      run_id=value("run-id") or "", seed=seed, inject_start_delay=delays,
                      inject_crash=crashes)
