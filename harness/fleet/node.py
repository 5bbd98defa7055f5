"""What runs on a fleet node, inside the checkout Ray shipped there: the probe
(who the node is) and the measurement (`python -m harness run` as a child
process, its results file gzip-compressed and returned as bytes).

The child gets SIGINT when the Ray worker that started it dies (the kernel's
parent-death signal), so a job that is killed stops its run the way Ctrl-C
does: every container and process it started is cleaned up. The killed
worker's output folder is removed by the node's next job."""

from __future__ import annotations

import ctypes
import gzip
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.measure.machine import cpu_model, memory_total_bytes
from harness.paths import REPO_ROOT

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
LOG_TAIL_LINES = 20
PR_SET_PDEATHSIG = 1


def probe() -> dict:
    """The node's facts (manifest.NodeFacts as JSON)."""
    try:
        boot_id = BOOT_ID.read_text().strip()
    except OSError:
        boot_id = ""
    return {"hostname": socket.gethostname(), "boot_id": boot_id, "cpus": os.cpu_count() or 0,
            "kernel": platform.release(), "cpu_model": cpu_model(), "memory_total_bytes": memory_total_bytes()}


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


def _run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          preexec_fn=_die_with_parent)


OUT_PREFIX = "isobench-fleet-"


def remove_stale_outputs(folder: str | None = None) -> list[Path]:
    """Output folders of earlier jobs whose Ray worker was killed (its TemporaryDirectory never cleaned up) and
    that no live process names any more (the interrupted run has finished with them): removed."""
    import psutil

    found = sorted(Path(folder or tempfile.gettempdir()).glob(f"{OUT_PREFIX}*"))
    if not found:
        return []
    named = set()
    for process in psutil.process_iter(["cmdline"]):
        named.update(process.info["cmdline"] or ())
    removed = []
    for path in found:
        if path.is_dir() and str(path) not in named:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def measure(run_args: list[str], setup: bool, commit: str | None) -> dict:
    """Set the node up if asked, run the suite, and return its exit code, its gzip-compressed results
    file (None if it wrote none) and the tail of its output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if commit:
        env["ISOBENCH_SOURCE_COMMIT"] = commit  # the shipped checkout has no .git
    found = {"facts": probe(), "exit_code": None, "results_gz": None, "results_name": "", "log_tail": ""}
    if setup:
        done = _run(["bash", "scripts/setup-host.sh"], env)
        if done.returncode != 0:
            found.update(exit_code=done.returncode,
                         log_tail="setup-host.sh failed:\n" + _tail(done.stdout + "\n" + done.stderr))
            return found
    remove_stale_outputs()
    with tempfile.TemporaryDirectory(prefix=OUT_PREFIX) as out:
        done = _run([sys.executable, "-m", "harness", "run", *run_args, "--out", out], env)
        files = sorted(p for p in Path(out).glob("2*.json") if not p.is_symlink())
        found.update(exit_code=done.returncode, log_tail=_tail(done.stdout + "\n" + done.stderr))
        if files:
            found.update(results_gz=gzip.compress(files[-1].read_bytes()), results_name=files[-1].name)
    return found
