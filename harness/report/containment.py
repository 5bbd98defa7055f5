"""Containment in the report: a grid of hostile workers × backend families,
✓ or ✗ per backend (in the family's order, given above the grid), at most 100
characters wide, one numbered footnote per ✗ saying what happened; every
pair's detail below, collapsed. From a containment record (`harness contain`)."""

from __future__ import annotations

from harness.containment.render import cell, reading
from harness.report import fmt
from harness.report.data import ReportData
from harness.results.vocabulary import FAMILIES

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"


def _sup(number: int) -> str:
    return "".join(SUPERSCRIPTS[int(d)] for d in str(number))


def _families(data: ReportData, record: dict) -> list[tuple[str, list[str]]]:
    """(family label, backends) for the backends the record tried, in the report's order."""
    tried = {p["backend"] for p in record.get("pairs", []) if p.get("contained") is not None}
    order = [n for n in data.names if n in tried] + sorted(tried - set(data.names))
    groups: dict[str, list[str]] = {}
    for name in order:
        family = data.result(name).info.family if name in data.run.backends else \
            (record.get("backends", {}).get(name) or {}).get("family", "")
        groups.setdefault(family, []).append(name)
    return [(FAMILIES[f].label if f in FAMILIES else "other", names)
            for f, names in sorted(groups.items(), key=lambda item: list(FAMILIES).index(item[0])
                                   if item[0] in FAMILIES else len(FAMILIES))]


def grid(data: ReportData, record: dict) -> list[str]:
    pairs = {(p["backend"], p["workload"]): p for p in record.get("pairs", [])}
    families = _families(data, record)
    if not families:
        return ["No hostile worker ran on a backend of this run."]
    order = "; ".join(f"{label}: {', '.join(names)}" for label, names in families)
    lines = [f"Marks in each cell follow this order: {order}.", "",
             "| worker | " + " | ".join(label for label, _ in families) + " |",
             "|---|" + "---|" * len(families)]
    notes: list[str] = []
    for workload in record.get("workloads", []):
        cells = []
        for _, names in families:
            marks = []
            for name in names:
                pair = pairs.get((name, workload))
                if pair is None or pair.get("contained") is None:
                    marks.append("–")
                elif pair["contained"]:
                    marks.append("✓")
                else:
                    notes.append(f"{name}, {workload}: {cell(pair).removeprefix('**NOT contained**: ')}")
                    marks.append(f"✗{_sup(len(notes))}")
            cells.append(" ".join(marks))
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    lines += ["", *[f"{_sup(i + 1)} {fmt.cell(note)}" for i, note in enumerate(notes)]]
    return lines


def section(data: ReportData, record: dict) -> list[str]:
    limits = record.get("limits", {})
    memory = (limits.get("memory_bytes") or 0) / 2**20
    lines = ["## Containment: hostile workers", "",
             f"Each hostile worker (`workloads/hostile/`) ran on each backend in its own probe process, under the same "
             f"limits: {limits.get('call_timeout_s')} s a call, {memory:.0f} MiB an instance, "
             f"{limits.get('max_pids')} pids, {limits.get('cpus')} CPU. ✓: the host survived, nothing hung, a fresh "
             f"instance still worked and nothing was obtained.", ""]
    lines += grid(data, record)
    detail = ["", "<details><summary>Every pair, with its times, and a reading of the matrix</summary>", "",
              "| backend | " + " | ".join(record.get("workloads", [])) + " |",
              "|---|" + "---|" * len(record.get("workloads", []))]
    pairs = {(p["backend"], p["workload"]): p for p in record.get("pairs", [])}
    for name in [n for n in data.names if n in record.get("backends", {})]:
        detail.append(f"| {name} | " + " | ".join(fmt.cell(cell(pairs.get((name, w)))) for w in record["workloads"]) + " |")
    detail += ["", *[f"- {sentence}" for sentence in reading(record)], "",
               f"Run `{record.get('run_id', '?')}`, {(record.get('started') or '?')[:16].replace('T', ' ')} UTC, "
               f"status {record.get('status', '?')}.", "", "</details>", ""]
    return lines + detail
