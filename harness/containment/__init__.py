"""Containment: hostile workers (workloads/hostile/) on every backend, and
what each backend contains. `python -m harness contain` runs it.

- bait.py      what `escape` tries to reach: a secret file, a loopback listener, a host variable
- probe.py     the child process that hosts one hostile worker on one backend (the "host")
- host.py      starts a probe, watches it (time, memory), and says how it ended
- verdict.py   pure judgement: contained or not, and why, from what happened
- matrix.py    every (workload, backend) pair from the registry, into one results record
- record.py    the results file: save atomically, load and check
- render.py    the matrix as text and markdown, with a plain-language reading
"""

from pathlib import Path

from harness.paths import REPO_ROOT

HOSTILE_DIR = REPO_ROOT / "workloads" / "hostile"
WORKLOADS = ("spin", "heap-bomb", "crash", "escape", "neighbour")


def workload_path(name: str) -> Path:
    return HOSTILE_DIR / f"{name}.js"
