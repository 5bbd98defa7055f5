"""The isolation matrix (rows: hostile workloads, columns: backends) as
markdown, and a short plain-language reading generated from the same data.
Reads a containment record only."""

from __future__ import annotations

import json


def cell(pair: dict | None) -> str:
    if pair is None or pair.get("contained") is None:
        return "not tried"
    verdict = "contained" if pair["contained"] else "**NOT contained**"
    return f"{verdict}: {_cell_detail(pair)}"


def _cell_detail(pair: dict) -> str:
    host, outcome = pair.get("host") or {}, pair.get("outcome") or {}
    if not host.get("survived", True):
        if host.get("killed_by") == "host-memory-safety":
            return f"host past the {host['memory_limit_bytes'] / 2**20:.0f} MiB safety limit, killed"
        if host.get("killed_by") == "pair-deadline":
            return "hung, probe killed"
        after = f" after {host['death_ms']:.0f} ms" if host.get("death_ms") is not None else ""
        return f"host died ({host.get('exit')}){after}"
    if pair.get("next") and not pair["next"].get("ok"):
        return "next instance failed"
    growth = host.get("call_growth_bytes")
    if pair["workload"] == "heap-bomb" and not pair["contained"] and growth:
        return f"{outcome.get('error_type', 'stopped')} only after the host grew {growth / 2**20:.0f} MiB"
    obtained = pair.get("obtained")
    if pair["workload"] in ("escape", "neighbour") and outcome.get("kind") == "error":
        return f"the worker's instance failed ({outcome.get('error_type')}), nothing obtained"
    if pair["workload"] == "escape" and obtained:
        got = [label for key, label in _ESCAPE_LABELS if obtained.get(key)]
        return "got " + ", ".join(got) if got else "got nothing"
    if pair["workload"] == "neighbour" and obtained:
        got = (["saw it"] if obtained.get("saw_other_instance") else []) + (
            ["changed it"] if obtained.get("modified_other_instance") else [])
        return " and ".join(got) if got else "saw nothing"
    if outcome.get("kind") == "error":
        return f"{outcome.get('error_type')}, stopped in {outcome.get('stop_ms', 0):.0f} ms"
    return "returned, host unharmed"


_ESCAPE_LABELS = (("host_secret_file", "host file"), ("host_hostname_file", "/etc/hostname"),
                  ("host_loopback", "127.0.0.1"), ("host_environment", "host env"))


def matrix_markdown(record: dict) -> str:
    backends = list(record.get("backends", {}))
    pairs = {(p["backend"], p["workload"]): p for p in record.get("pairs", [])}
    lines = ["| worker | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for workload in record.get("workloads", []):
        cells = []
        for name in backends:
            status = record["backends"][name]
            cells.append(cell(pairs.get((name, workload))) if status.get("available") else "skipped")
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    skipped = [f"- {name}: {status.get('reason')}" for name, status in record.get("backends", {}).items()
               if not status.get("available")]
    if skipped:
        lines += ["", "Skipped:", *skipped]
    return "\n".join(lines) + "\n"


def reading(record: dict) -> list[str]:
    """One plain sentence per backend, then the facts behind the cells, all from the data."""
    sentences = []
    by_backend: dict[str, list[dict]] = {}
    for pair in record.get("pairs", []):
        by_backend.setdefault(pair["backend"], []).append(pair)
    for name, pairs in by_backend.items():
        tried = [p for p in pairs if p.get("contained") is not None]
        if not tried:
            continue
        held = [p["workload"] for p in tried if p["contained"]]
        lost = [p for p in tried if not p["contained"]]
        text = f"**{name}** contained {len(held)} of {len(tried)} hostile workers"
        text += "." if not lost else ": not " + "; not ".join(f"{p['workload']} ({p['why']})" for p in lost) + "."
        notes = _notes(pairs, record["backends"].get(name, {}))
        sentences.append(" ".join([text, *notes]))
    return sentences


def _notes(pairs: list[dict], status: dict) -> list[str]:
    notes = []
    crash = next((p for p in pairs if p["workload"] == "crash"), None)
    if status.get("instance_class") == "in-process" and crash and not crash["host"]["survived"]:
        notes.append("It runs inside the harness's own process, so an engine-fatal error in the worker "
                     "ended the harness's stand-in too.")
    escape = next((p for p in pairs if p["workload"] == "escape" and p.get("outcome")), None)
    answer = _escape_answer(escape)
    if answer is not None:
        routes = answer.get("routes") or []
        if not routes and not answer.get("runtime", {}).get("process"):
            where = _WHERE.get(status.get("instance_class"), "it runs on the host")
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


def _escape_answer(pair: dict | None) -> dict | None:
    if pair is None or pair["outcome"].get("kind") != "answer":
        return None
    try:
        return json.loads(pair["outcome"]["answer"])
    except (KeyError, ValueError):
        return None


def to_markdown(record: dict) -> str:
    limits = record.get("limits", {})
    head = (f"Limits given to every backend: {limits.get('call_timeout_s')} s per call, "
            f"{(limits.get('memory_bytes') or 0) / 2**20:.0f} MiB per instance, {limits.get('max_pids')} pids, "
            f"{limits.get('cpus')} CPU. Status: {record.get('status')}.\n\n")
    body = matrix_markdown(record)
    text = "\n".join(f"- {sentence}" for sentence in reading(record))
    return head + body + ("\n" + text + "\n" if text else "")
