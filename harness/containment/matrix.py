"""Every (hostile workload, backend) pair, each in its own probe, into one
results record. Backends come from the registry: any backend that takes the
Limits it is given (keeps them as `backend.limits`) joins; one that does not
is skipped with that reason, as is one that cannot run here."""

from __future__ import annotations

import datetime
import json
import secrets
from dataclasses import asdict, dataclass

from harness.backends import BackendOptions, create_backend
from harness.backends.base import Limits
from harness.containment import WORKLOADS, workload_path
from harness.containment.bait import Bait
from harness.containment.host import run_probe
from harness.containment.record import (BackendStatus, CallOutcome, ContainmentRecord, HostOutcome, NextInstance,
                                        PairResult, PairRun)
from harness.containment.verdict import judge
from harness.runtime.worker import DEFAULT_WORKER

MIB = 1 << 20


@dataclass(frozen=True)
class Plan:
    backends: list[str]
    workloads: list[str]
    limits: Limits
    host_memory_bytes: int
    run_id: str
    inherit_env: tuple[str, ...] = ()
    base_image: str | None = None

    def options(self) -> dict:
        return {"run_id": self.run_id, "inherit_env": list(self.inherit_env), "base_image": self.base_image}

    def pair_deadline_s(self) -> float:
        """Generous: container start-up, the call limit, cleanup and the next instance."""
        return 120.0 + 3 * (self.limits.call_timeout_s or 30.0)


def default_limits(call_timeout_s: float = 2.0, memory_mb: int = 128) -> Limits:
    return Limits(call_timeout_s=call_timeout_s, memory_bytes=memory_mb * MIB, max_pids=64, cpus=1.0)


def backend_status(name: str, plan: Plan) -> BackendStatus:
    """Whether the backend can run here and takes Limits; its summary and limit mechanisms."""
    backend = create_backend(name, BackendOptions(run_id=plan.run_id, inherit_env=plan.inherit_env,
                                                  base_image=plan.base_image, limits=plan.limits))
    try:
        if backend.limits != plan.limits:
            return BackendStatus(False, "does not enforce the Limits it was given (from_options drops them): skipped",
                                 backend.summary)
        availability = backend.availability()
        if not availability.available:
            return BackendStatus(False, availability.reason, backend.summary)
        return BackendStatus(True, "", backend.summary, backend.instance_class, backend.family)
    finally:
        backend.close()


def new_record(plan: Plan) -> ContainmentRecord:
    from harness.measure.machine import machine_info

    return ContainmentRecord(run_id=plan.run_id, started=_now(), limits=plan.limits,
                             host_safety_bytes=plan.host_memory_bytes, workloads=list(plan.workloads),
                             machine=machine_info())


def run_pair(name: str, workload: str, plan: Plan, bait: Bait, on_probe=lambda probe: None) -> PairResult:
    token = "isobench-esc-" + secrets.token_hex(8)
    request = {
        "backend": name, "options": plan.options(), "limits": asdict(plan.limits), "workload": workload,
        "worker_path": str(workload_path(workload)), "hello_path": str(DEFAULT_WORKER),
        "arg": json.dumps(bait.argument(token)) if workload == "escape" else "World",
    }
    probe = run_probe(request, bait.environment(), plan.pair_deadline_s(), plan.host_memory_bytes, on_probe)
    events = probe.events
    host = HostOutcome(survived=probe.survived, exit=probe.exit, killed_by=probe.killed_by,
                       death_ms=probe.host_death_ms, peak_tree_rss_bytes=probe.peak_tree_rss,
                       call_growth_bytes=probe.call_growth, memory_limit_bytes=plan.host_memory_bytes,
                       stderr_tail=None if probe.survived else tuple(_last_lines(probe.stderr_tail)))
    run = PairRun(
        host=host, instance_memory_limit_bytes=plan.limits.memory_bytes,
        outcome=CallOutcome.from_json(_strip(events["outcome"])) if "outcome" in events else None,
        next=NextInstance.from_json(_strip(events["next"])) if "next" in events else None,
        unavailable=events["unavailable"].get("reason") if "unavailable" in events else None,
        setup_error=_setup_error(events.get("error")),
    )
    verdict = judge(workload, run, bait.truth(token) if workload == "escape" else None)
    return PairResult(name, workload, verdict, run, facts=(events.get("prepared") or {}).get("facts", {}))


def _strip(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "event"}


def _setup_error(event: dict | None) -> str | None:
    return None if event is None else f"{event.get('error_type')}: {event.get('message')}"


def _last_lines(text: str, count: int = 6) -> list[str]:
    """The lines that say why (fatal errors first), then the last few."""
    lines = [line.strip()[:300] for line in text.splitlines() if line.strip()]
    why = [line for line in lines if "fatal" in line.lower() or "error" in line.lower()][:3]
    return why + [line for line in lines[-count:] if line not in why]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def finish(record: ContainmentRecord, status: str) -> ContainmentRecord:
    record.status = status
    record.finished = _now()
    return record
