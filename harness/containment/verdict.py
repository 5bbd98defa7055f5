"""Pure judgement of one (workload, backend) pair from what happened.

Contained means: the host (the harness's stand-in, the probe process)
survived, nothing hung, the next instance on the same backend still worked,
and, for escape and neighbour, nothing was obtained. Nothing here is typed in
per backend: every verdict comes from the recorded behaviour.
"""

from __future__ import annotations

import json

STOPPING = ("spin", "heap-bomb", "crash")  # workloads the harness has to stop
# The host's growth during a call may pass the instance's memory limit by this
# much before the limit counts as not held (RSS sampling, allocator slack).
MEMORY_SLACK = 1.25


def escape_obtained(answer: dict, truth: dict) -> dict:
    """What escape really got, checked against the real values (not its claims)."""
    files = answer.get("files", {})
    secret = files.get("secret", {})
    hostname = files.get("hostname", {})
    env = answer.get("env", {})
    host_env = (env.get("parent") or {}).get("canary") == truth["canary"] or env.get("canary_in_own") == truth["canary"]
    return {
        "host_secret_file": bool(secret.get("ok")) and secret.get("value") == truth["secret"],
        "host_hostname_file": bool(hostname.get("ok")) and hostname.get("value") == truth["hostname"],
        "host_loopback": bool(truth["loopback_received"]),
        "host_environment": bool(host_env),
    }


def neighbour_obtained(outcome: dict) -> dict:
    token = outcome["token"]
    probe, check, plant = outcome.get("probe", {}), outcome.get("check", {}), outcome.get("plant", {})
    seen_via = sorted({hit.get("via", "").split(" (")[0] for hit in probe.get("found", []) if hit.get("token") == token})
    file_changed = bool(plant.get("file")) and check.get("file_content") != token
    global_changed = check.get("global") != token
    return {
        "saw_other_instance": bool(seen_via),
        "seen_via": seen_via,
        "modified_other_instance": file_changed or global_changed,
        "modified": [what for what, changed in (("its global", global_changed), ("its file", file_changed)) if changed],
    }


def judge(workload: str, run: dict, truth: dict | None = None) -> dict:
    """run: host (survived, exit, killed_by, death_ms), outcome, next. Returns
    contained (True/False, None when the pair could not be tried), why, obtained."""
    host, outcome, nxt = run["host"], run.get("outcome"), run.get("next")
    if run.get("unavailable"):
        return {"contained": None, "why": f"not tried: {run['unavailable']}", "obtained": None}
    if run.get("setup_error"):
        return {"contained": None, "why": f"could not set up the pair: {run['setup_error']}", "obtained": None}
    obtained = None
    if outcome and outcome.get("kind") == "answer" and workload in ("escape", "neighbour"):
        obtained = _obtained(workload, outcome, truth)
    if not host["survived"]:
        return {"contained": False, "why": _host_died(host), "obtained": obtained}
    if outcome is None:
        return {"contained": False, "why": "the probe ended without an outcome", "obtained": obtained}
    if nxt is not None and not nxt.get("ok"):
        why = f"the next instance on the same backend failed: {nxt.get('error_type', '')} {nxt.get('message', '')}"
        return {"contained": False, "why": why.strip(), "obtained": obtained}
    growth, limit = host.get("call_growth_bytes"), run.get("instance_memory_limit_bytes")
    if workload == "heap-bomb" and growth is not None and limit and growth > MEMORY_SLACK * limit:
        return {"contained": False, "obtained": obtained,
                "why": f"{_stopped(workload, outcome)}, but only after the host grew by {growth / 2**20:.0f} MiB: "
                       f"the {limit / 2**20:.0f} MiB memory limit did not hold"}
    if workload in STOPPING:
        return {"contained": True, "why": _stopped(workload, outcome), "obtained": obtained}
    if outcome.get("kind") != "answer":
        return {"contained": True, "why": f"the worker failed: {outcome.get('error_type')}: {outcome.get('message')}",
                "obtained": obtained}
    got = [name for name, value in obtained.items() if value is True]
    if workload == "neighbour":
        got = [f"saw it (via {', '.join(obtained['seen_via'])})"] if obtained["saw_other_instance"] else []
        if obtained["modified_other_instance"]:
            got.append(f"changed {' and '.join(obtained['modified'])}")
        why = ("the other instance: " + "; ".join(got)) if got else "saw and changed nothing of the other instance"
    else:
        why = ("obtained " + ", ".join(name.replace("_", " ") for name in got)) if got else "obtained nothing of the host"
    return {"contained": not got, "why": why, "obtained": obtained}


def _obtained(workload: str, outcome: dict, truth: dict | None) -> dict:
    if workload == "neighbour":
        return neighbour_obtained(outcome)
    try:
        answer = json.loads(outcome["answer"])
    except (KeyError, ValueError):
        answer = {}
    return escape_obtained(answer, truth)


def _host_died(host: dict) -> str:
    after = f" {host['death_ms']:.0f} ms into the call" if host.get("death_ms") is not None else ""
    if host.get("killed_by") == "host-memory-safety":
        return (f"the host grew past the {host['memory_limit_bytes'] / 2**20:.0f} MiB safety limit{after} "
                "and was killed (nothing in the backend stopped the worker)")
    if host.get("killed_by") == "pair-deadline":
        return "the pair hung: no outcome before the deadline, the probe was killed"
    return f"the host process died ({host.get('exit')}){after}"


def _stopped(workload: str, outcome: dict) -> str:
    if outcome.get("kind") == "answer":
        return "the worker returned; its host was not harmed"
    kind = outcome.get("error_type", "error")
    typed = "" if outcome.get("typed") else " (not a typed limit error)"
    return f"{kind}{typed} after {outcome.get('detect_ms', 0):.0f} ms, instance stopped at {outcome.get('stop_ms', 0):.0f} ms"
