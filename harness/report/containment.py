"""Containment in the report: a grid of hostile workers × backend families,
✓ or ✗ per backend (in the family's order, given above the grid), at most 100
characters wide, one numbered footnote per ✗ saying what happened; every
pair's detail below, collapsed. From a containment record (`harness contain`)."""

from __future__ import annotations

from harness.containment.record import ContainmentRecord
from harness.containment.render import cell, reading
from harness.report import fmt
from harness.report.data import ReportData
from harness.results.vocabulary import FAMILIES

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"


def _sup(number: int) -> str:
    return "".join(SUPERSCRIPTS[int(d)] for d in str(number))


def _families(data: ReportData, record: ContainmentRecord) -> list[tuple[str, list[str]]]:
    """(family label, backends) for the backends the record tried, in the report's order."""
    tried = {p.backend for p in record.pairs if p.tried}
    order = [n for n in data.names if n in tried] + sorted(tried - set(data.names))
    groups: dict[str, list[str]] = {}
    for name in order:
        status = record.backends.get(name)
        family = data.result(name).info.family if name in data.run.backends else \
            ((status.family if status else None) or "")
        groups.setdefault(family, []).append(name)
    return [(FAMILIES[f].label if f in FAMILIES else "other", names)
            for f, names in sorted(groups.items(), key=lambda item: list(FAMILIES).index(item[0])
                                   if item[0] in FAMILIES else len(FAMILIES))]


def grid(data: ReportData, record: ContainmentRecord) -> list[str]:
    families = _families(data, record)
    if not families:
        return ["No hostile worker ran on a backend of this run."]
    order = "; ".join(f"{label}: {', '.join(names)}" for label, names in families)
    lines = [f"Marks in each cell follow this order: {order}.", "",
             "| worker | " + " | ".join(label for label, _ in families) + " |",
             "|---|" + "---|" * len(families)]
    notes: list[str] = []
    for workload in record.workloads:
        cells = []
        for _, names in families:
            marks = []
            for name in names:
                pair = record.pair(name, workload)
                if pair is None or not pair.tried:
                    marks.append("–")
                elif pair.contained:
                    marks.append("✓")
                else:
                    notes.append(f"{name}, {workload}: {cell(pair).removeprefix('**NOT contained**: ')}")
                    marks.append(f"✗{_sup(len(notes))}")
            cells.append(" ".join(marks))
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    lines += ["", *[f"{_sup(i + 1)} {fmt.cell(note)}" for i, note in enumerate(notes)]]
    return lines


def section(data: ReportData, record: ContainmentRecord) -> list[str]:
    limits = record.limits
    memory = (limits.memory_bytes or 0) / 2**20
    lines = ["## Containment: hostile workers", "",
             f"Each hostile worker (`workloads/hostile/`) ran on each backend in its own probe process, under the same "
             f"limits: {limits.call_timeout_s} s a call, {memory:.0f} MiB an instance, "
             f"{limits.max_pids} pids, {limits.cpus} CPU. ✓: the host survived, nothing hung, a fresh "
             f"instance still worked and nothing was obtained.", ""]
    lines += grid(data, record)
    detail = ["", "<details><summary>Every pair, with its times, and a reading of the matrix</summary>", "",
              "| backend | " + " | ".join(record.workloads) + " |",
              "|---|" + "---|" * len(record.workloads)]
    for name in [n for n in data.names if n in record.backends]:
        detail.append(f"| {name} | " + " | ".join(fmt.cell(cell(record.pair(name, w))) for w in record.workloads)
                      + " |")
    detail += ["", *[f"- {sentence}" for sentence in reading(record)], "",
               f"Run `{record.run_id}`, {(record.started or '?')[:16].replace('T', ' ')} UTC, "
               f"status {record.status}.", "", "</details>", ""]
    return lines + detail
