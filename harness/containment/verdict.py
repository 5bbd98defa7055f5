"""Pure judgement of one (workload, backend) pair from what happened.

Contained means: the host (the harness's stand-in, the probe process)
survived, nothing hung, the next instance on the same backend still worked,
and, for escape and neighbour, nothing was obtained. Nothing here is typed in
per backend: every verdict comes from the recorded behaviour.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from harness.containment.record import (CallOutcome, EscapeObtained, HostOutcome, NeighbourObtained, PairRun,
                                        Verdict)

STOPPING = ("spin", "heap-bomb", "crash")  # workloads the harness has to stop
# The host's growth during a call may pass the instance's memory limit by this
# much before the limit counts as not held (RSS sampling, allocator slack).
MEMORY_SLACK = 1.25


def escape_obtained(answer: Mapping[str, Any], truth: Mapping[str, Any]) -> EscapeObtained:
    """What escape really got, checked against the real values (not its
    claims). answer is the hostile worker's own JSON, so it is read with care."""
    files = answer.get("files", {})
    secret = files.get("secret", {})
    hostname = files.get("hostname", {})
    env = answer.get("env", {})
    host_env = (env.get("parent") or {}).get("canary") == truth["canary"] or env.get("canary_in_own") == truth["canary"]
    return EscapeObtained(
        host_secret_file=bool(secret.get("ok")) and secret.get("value") == truth["secret"],
        host_hostname_file=bool(hostname.get("ok")) and hostname.get("value") == truth["hostname"],
        host_loopback=bool(truth["loopback_received"]),
        host_environment=bool(host_env),
    )


def neighbour_obtained(outcome: CallOutcome) -> NeighbourObtained:
    """What the attacker saw of the victim and changed in it. The replies are
    the hostile worker's own JSON."""
    token = outcome.token
    probe, check, plant = outcome.probe or {}, outcome.check or {}, outcome.plant or {}
    seen_via = sorted({hit.get("via", "").split(" (")[0] for hit in probe.get("found", []) if hit.get("token") == token})
    file_changed = bool(plant.get("file")) and check.get("file_content") != token
    global_changed = check.get("global") != token
    return NeighbourObtained(
        saw_other_instance=bool(seen_via), seen_via=tuple(seen_via),
        modified_other_instance=file_changed or global_changed,
        modified=tuple(what for what, changed in (("its global", global_changed), ("its file", file_changed)) if changed),
    )


def judge(workload: str, run: PairRun, truth: Mapping[str, Any] | None = None) -> Verdict:
    """Contained (True/False, None when the pair could not be tried), why, and what was obtained."""
    host, outcome, nxt = run.host, run.outcome, run.next
    if run.unavailable:
        return Verdict(None, f"not tried: {run.unavailable}")
    if run.setup_error:
        return Verdict(None, f"could not set up the pair: {run.setup_error}")
    obtained = None
    if outcome and outcome.answered and workload in ("escape", "neighbour"):
        obtained = _obtained(workload, outcome, truth)
    if not host.survived:
        return Verdict(False, _host_died(host), obtained)
    if outcome is None:
        return Verdict(False, "the probe ended without an outcome", obtained)
    if nxt is not None and not nxt.ok:
        why = f"the next instance on the same backend failed: {nxt.error_type or ''} {nxt.message or ''}"
        return Verdict(False, why.strip(), obtained)
    growth, limit = host.call_growth_bytes, run.instance_memory_limit_bytes
    if workload == "heap-bomb" and growth is not None and limit and growth > MEMORY_SLACK * limit:
        return Verdict(False, f"{_stopped(outcome)}, but only after the host grew by {growth / 2**20:.0f} MiB: "
                              f"the {limit / 2**20:.0f} MiB memory limit did not hold", obtained)
    if workload in STOPPING:
        return Verdict(True, _stopped(outcome), obtained)
    if not outcome.answered:
        return Verdict(True, f"the worker failed: {outcome.error_type}: {outcome.message}", obtained)
    if isinstance(obtained, NeighbourObtained):
        got = [f"saw it (via {', '.join(obtained.seen_via)})"] if obtained.saw_other_instance else []
        if obtained.modified_other_instance:
            got.append(f"changed {' and '.join(obtained.modified)}")
        why = ("the other instance: " + "; ".join(got)) if got else "saw and changed nothing of the other instance"
    else:
        got = obtained.got() if obtained else []
        why = ("obtained " + ", ".join(name.replace("_", " ") for name in got)) if got else "obtained nothing of the host"
    return Verdict(not got, why, obtained)


def _obtained(workload: str, outcome: CallOutcome, truth: Mapping[str, Any] | None) -> EscapeObtained | NeighbourObtained:
    if workload == "neighbour":
        return neighbour_obtained(outcome)
    try:
        answer = json.loads(outcome.answer or "")
    except ValueError:
        answer = {}
    return escape_obtained(answer if isinstance(answer, dict) else {}, truth)


def _host_died(host: HostOutcome) -> str:
    after = f" {host.death_ms:.0f} ms into the call" if host.death_ms is not None else ""
    if host.killed_by == "host-memory-safety":
        return (f"the host grew past the {(host.memory_limit_bytes or 0) / 2**20:.0f} MiB safety limit{after} "
                "and was killed (nothing in the backend stopped the worker)")
    if host.killed_by == "pair-deadline":
        return "the pair hung: no outcome before the deadline, the probe was killed"
    return f"the host process died ({host.exit}){after}"


def _stopped(outcome: CallOutcome) -> str:
    if outcome.answered:
        return "the worker returned; its host was not harmed"
    kind = outcome.error_type or "error"
    typed = "" if outcome.typed else " (not a typed limit error)"
    return f"{kind}{typed} after {outcome.detect_ms or 0:.0f} ms, instance stopped at {outcome.stop_ms or 0:.0f} ms"
