"""The isolation matrix (rows: hostile workloads, columns: backends) as
markdown, and a short plain-language reading generated from the same data.
Reads a containment record only."""

from __future__ import annotations

import json

from harness.containment.record import (BackendStatus, ContainmentRecord, EscapeObtained, NeighbourObtained,
                                        PairResult)


def cell(pair: PairResult | None) -> str:
    if pair is None or not pair.tried:
        return "not tried"
    verdict = "contained" if pair.contained else "**NOT contained**"
    return f"{verdict}: {_cell_detail(pair)}"


def _cell_detail(pair: PairResult) -> str:
    host, outcome, nxt = pair.host, pair.outcome, pair.run.next
    if not host.survived:
        if host.killed_by == "host-memory-safety":
            return f"host past the {(host.memory_limit_bytes or 0) / 2**20:.0f} MiB safety limit, killed"
        if host.killed_by == "pair-deadline":
            return "hung, probe killed"
        after = f" after {host.death_ms:.0f} ms" if host.death_ms is not None else ""
        return f"host died ({host.exit}){after}"
    if nxt and not nxt.ok:
        return "next instance failed"
    growth = host.call_growth_bytes
    failed = outcome is not None and outcome.kind == "error"
    if pair.workload == "heap-bomb" and not pair.contained and growth:
        return f"{(outcome.error_type if outcome else None) or 'stopped'} only after the host grew {growth / 2**20:.0f} MiB"
    obtained = pair.obtained
    if pair.workload in ("escape", "neighbour") and failed:
        return f"the worker's instance failed ({outcome.error_type}), nothing obtained"
    if pair.workload == "escape" and isinstance(obtained, EscapeObtained):
        got = [label for key, label in EscapeObtained.LABELS if getattr(obtained, key)]
        return "got " + ", ".join(got) if got else "got nothing"
    if pair.workload == "neighbour" and isinstance(obtained, NeighbourObtained):
        got = (["saw it"] if obtained.saw_other_instance else []) + (
            ["changed it"] if obtained.modified_other_instance else [])
        return " and ".join(got) if got else "saw nothing"
    if failed:
        return f"{outcome.error_type}, stopped in {outcome.stop_ms or 0:.0f} ms"
    return "returned, host unharmed"


def matrix_markdown(record: ContainmentRecord) -> str:
    backends = list(record.backends)
    lines = ["| worker | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for workload in record.workloads:
        cells = [cell(record.pair(name, workload)) if record.backends[name].available else "skipped"
                 for name in backends]
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    skipped = [f"- {name}: {status.reason}" for name, status in record.backends.items() if not status.available]
    if skipped:
        lines += ["", "Skipped:", *skipped]
    return "\n".join(lines) + "\n"


def reading(record: ContainmentRecord) -> list[str]:
    """One plain sentence per backend, then the facts behind the cells, all from the data."""
    sentences = []
    for name, pairs in record.by_backend().items():
        tried = [p for p in pairs if p.tried]
        if not tried:
            continue
        held = [p.workload for p in tried if p.contained]
        lost = [p for p in tried if not p.contained]
        text = f"**{name}** contained {len(held)} of {len(tried)} hostile workers"
        text += "." if not lost else ": not " + "; not ".join(f"{p.workload} ({p.why})" for p in lost) + "."
        notes = _notes(pairs, record.backends.get(name) or BackendStatus(False))
        sentences.append(" ".join([text, *notes]))
    return sentences


def _notes(pairs: list[PairResult], status: BackendStatus) -> list[str]:
    notes = []
    crash = next((p for p in pairs if p.workload == "crash"), None)
    if status.instance_class == "in-process" and crash and not crash.host.survived:
        notes.append("It runs inside the harness's own process, so an engine-fatal error in the worker "
                     "ended the harness's stand-in too.")
    escape = next((p for p in pairs if p.workload == "escape" and p.outcome), None)
    answer = _escape_answer(escape)
    if answer is not None:  # the hostile worker's own JSON: read with care
        routes = answer.get("routes") or []
        if not routes and not answer.get("runtime", {}).get("process"):
            where = _WHERE.get(status.instance_class, "it runs on the host")
            notes.append(f"Its worker found no route to files, network or environment: the runtime exposes no "
                         f"binding for them. That is the only thing keeping it from the host's files: {where}.")
        elif routes:
            notes.append(f"Its worker reached node's modules through {', '.join(routes)}.")
        loopback = answer.get("loopback") or {}
        if loopback.get("route") and not loopback.get("connected"):
            notes.append(f"Its TCP connection to 127.0.0.1 failed ({loopback.get('error')}): "
                         "the host's loopback is not its loopback.")
    return notes


_WHERE = {"in-process": "it shares the harness's address space",
          "process": "it runs as an ordinary process of the harness's user",
          "container": "it runs in a container"}


def _escape_answer(pair: PairResult | None) -> dict | None:
    if pair is None or not pair.outcome.answered:
        return None
    try:
        answer = json.loads(pair.outcome.answer or "")
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def to_markdown(record: ContainmentRecord) -> str:
    limits = record.limits
    head = (f"Limits given to every backend: {limits.call_timeout_s} s per call, "
            f"{(limits.memory_bytes or 0) / 2**20:.0f} MiB per instance, {limits.max_pids} pids, "
            f"{limits.cpus} CPU. Status: {record.status}.\n\n")
    body = matrix_markdown(record)
    text = "\n".join(f"- {sentence}" for sentence in reading(record))
    return head + body + ("\n" + text + "\n" if text else "")
