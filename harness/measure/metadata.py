"""What a run records about itself: machine, versions, conditions, and which
backends ran or why not. Written into the pytest-benchmark JSON by the hooks in
bench/conftest.py: machine facts under machine_info.isobench, the run record
under the top-level key `isobench`."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field

from harness import __version__
from harness.backends import BackendOptions
from harness.backends.base import Backend
from harness.backends.environment import describe_child_environment
from harness.measure.machine import machine_info, timer_overhead_ns
from harness.measure.profiles import Profile
from harness.runtime.worker import Worker

SCHEMA = "isobench/1"

# pytest exit codes -> run status
_STATUS = {0: "complete", 1: "some-tests-failed", 2: "interrupted", 3: "internal-error",
           4: "usage-error", 5: "no-tests"}


@dataclass
class RunContext:
    backends: list[str]
    profile: Profile
    worker: Worker
    options: BackendOptions
    pinned: list[int] | None = None
    started: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
    backend_status: dict[str, dict] = field(default_factory=dict)
    session: object = None
    _machine: dict | None = None

    def record_available(self, name: str, backend: Backend) -> None:
        try:
            versions = backend.versions()
        except Exception as error:  # a version we cannot read is not a reason to stop
            versions = {"error": str(error).split("\n")[0]}
        self.backend_status[name] = {
            "available": True, "reason": "", "summary": backend.summary,
            "transport": backend.transport(), "versions": versions,
        }

    def record_unavailable(self, name: str, reason: str) -> None:
        self.backend_status[name] = {"available": False, "reason": reason}

    def record_failure(self, name: str, message: str) -> None:
        """A measurement of this backend failed: `failed` keeps the first reason
        (one line), `failures` counts them."""
        status = self.backend_status.setdefault(name, {"available": None, "reason": ""})
        status.setdefault("failed", message)
        status["failures"] = status.get("failures", 0) + 1

    def describe(self) -> dict:
        """machine_info.isobench: facts about the machine, taken once."""
        if self._machine is None:
            self._machine = {**machine_info(), "timer": timer_overhead_ns()}
        return self._machine

    def run_record(self) -> dict:
        exitstatus = getattr(self.session, "exitstatus", None)
        code = int(exitstatus) if exitstatus is not None else None
        if getattr(self.session, "shouldstop", False) and code in (None, 0):
            code = 2
        return {
            "schema": SCHEMA,
            "harness_version": __version__,
            "status": _STATUS.get(code, "running" if code is None else f"exit-{code}"),
            "started": self.started,
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "profile": self.profile.as_dict(),
            "worker": self.worker.describe(),
            "requested_backends": self.backends,
            "backends": {name: self.backend_status.get(name, {"available": None, "reason": "not reached"})
                         for name in self.backends},
            "child_environment": describe_child_environment(self.options.inherit_env),
            "pinned_cpus": self.pinned,
            "affinity_at_end": sorted(os.sched_getaffinity(0)),
            "container_base_image": self.options.base_image,
            "load_average_at_end": list(os.getloadavg()),
        }
