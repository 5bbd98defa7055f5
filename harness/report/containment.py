"""The report's isolation matrix: rows hostile workers, columns backends,
cells contained / not contained with the time to stop, and a plain-language
reading, all generated from a containment results file (`python -m harness
contain`). The matrix and the reading are harness.containment.render's, so the
report and the command print the same thing."""

from __future__ import annotations

from pathlib import Path

from harness.containment.record import load
from harness.containment.render import matrix_markdown, reading


def section(containment: dict | str | Path, out_dir: Path) -> str:
    record = containment if isinstance(containment, dict) else load(containment)
    limits = record.get("limits", {})
    memory = (limits.get("memory_bytes") or 0) / 2**20
    lines = [
        "## Containment: hostile workers", "",
        f"Each hostile worker (`workloads/hostile/`) on each backend, each pair in its own probe process watched "
        f"from outside, with the same limits everywhere: {limits.get('call_timeout_s')} s per call, {memory:.0f} MiB "
        f"per instance, {limits.get('max_pids')} pids, {limits.get('cpus')} CPU. A cell is *contained* when the "
        "host survived, nothing hung, a fresh instance on the same backend still worked and nothing was obtained; "
        "times run from the call to the instance being stopped, or to the host's death. "
        f"Run `{record.get('run_id', '?')}` ({(record.get('started') or '?')[:16].replace('T', ' ')} UTC), "
        f"status {record.get('status', '?')}.", "",
        matrix_markdown(record),
    ]
    sentences = reading(record)
    if sentences:
        lines += ["What it says:", "", *[f"- {sentence}" for sentence in sentences], ""]
    return "\n".join(lines)
