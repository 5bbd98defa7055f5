"""Run one probe (probe.py) and watch it from outside: its events, its
exit, its memory. The probe is the host of a hostile worker; this side never
runs the worker, so whatever the worker does to its host, the harness lives.

Safety net: the probe's whole process tree may hold at most
`host_memory_bytes` of RSS. Past it the tree is killed and the host counts as
not having survived (what it would have done to the machine is not worth
finding out). The probe's runner processes are in its tree; containers are
not (their memory is in their own cgroups).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psutil

from harness.paths import REPO_ROOT
from harness.backends.environment import child_environment
from harness.backends.fdwait import readable

POLL_S = 0.02


@dataclass
class ProbeRun:
    events: dict[str, dict] = field(default_factory=dict)  # the last event of each kind
    returncode: int | None = None
    killed_by: str | None = None  # "host-memory-safety", "pair-deadline", "interrupt"
    host_death_ms: float | None = None  # from the 'calling' event to the probe's end, when it died
    eof_ms: float | None = None  # from the 'calling' event to the end of its output
    peak_tree_rss: int = 0
    rss_at_calling: int | None = None  # the tree's RSS when the hostile call began
    peak_after_calling: int = 0
    stderr_tail: str = ""

    @property
    def exit(self) -> str:
        if self.returncode is None:
            return "unknown"
        if self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return f"exit {self.returncode}"

    @property
    def call_growth(self) -> int | None:
        """How much the probe's process tree grew during the hostile call (RSS)."""
        return None if self.rss_at_calling is None else max(0, self.peak_after_calling - self.rss_at_calling)

    @property
    def survived(self) -> bool:
        return self.returncode == 0 and self.killed_by is None and "done" in self.events


class Probe:
    """One probe process. stop() kills its whole tree; safe to call twice."""

    def __init__(self, request: dict, extra_env: dict[str, str]) -> None:
        env = {**child_environment(), **extra_env, "PYTHONPATH": str(REPO_ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harness.containment.probe"], cwd=REPO_ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            start_new_session=True,  # Ctrl-C reaches the harness, which stops the probe
        )
        self.process.stdin.write(json.dumps(request).encode())
        self.process.stdin.close()
        self.tree: dict[int, float] = {}  # pid -> create_time, every process seen in the tree

    def tree_rss(self) -> int:
        total = 0
        try:
            root = psutil.Process(self.process.pid)
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        for member in members:
            try:
                self.tree.setdefault(member.pid, member.create_time())
                total += member.memory_info().rss
            except psutil.Error:
                continue
        return total

    def stop(self) -> None:
        """Kill the probe and every process it started (also those already orphaned)."""
        self.tree_rss()
        for pid, created in self.tree.items():
            try:
                member = psutil.Process(pid)
                if member.create_time() == created:
                    member.kill()
            except psutil.Error:
                continue
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for pid in self.tree:
            if pid != self.process.pid:
                try:
                    psutil.Process(pid).wait(timeout=0)  # reap, if it is our child now
                except (psutil.Error, psutil.TimeoutExpired, ChildProcessError):
                    continue


def run_probe(request: dict, extra_env: dict[str, str], deadline_s: float, host_memory_bytes: int,
              on_probe=lambda probe: None) -> ProbeRun:
    """Start a probe, collect its events until it ends or the deadline, then
    make sure nothing of it is left."""
    probe = Probe(request, extra_env)
    on_probe(probe)
    run = ProbeRun()
    out, err = probe.process.stdout.fileno(), probe.process.stderr.fileno()
    pending, stderr = b"", b""
    started = time.monotonic()
    calling_at = None
    open_fds = {out, err}
    try:
        while open_fds:
            ready = readable(open_fds, POLL_S)
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.discard(fd)
                    if fd == out and calling_at is not None:
                        run.eof_ms = round((time.monotonic() - calling_at) * 1000, 3)
                    continue
                if fd == err:
                    stderr = (stderr + chunk)[-16384:]
                    continue
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    event = json.loads(line)
                    run.events[event["event"]] = event
                    if event["event"] == "calling":
                        calling_at = time.monotonic()
                        run.rss_at_calling = probe.tree_rss()
            rss = probe.tree_rss()
            run.peak_tree_rss = max(run.peak_tree_rss, rss)
            if calling_at is not None and "outcome" not in run.events:
                run.peak_after_calling = max(run.peak_after_calling, rss)
            if rss > host_memory_bytes:
                run.killed_by = "host-memory-safety"
            elif time.monotonic() - started > deadline_s:
                run.killed_by = "pair-deadline"
            if run.killed_by:
                if calling_at is not None:
                    run.host_death_ms = round((time.monotonic() - calling_at) * 1000, 3)
                break
    except BaseException:
        run.killed_by = "interrupt"
        raise
    finally:
        probe.stop()
        run.returncode = probe.process.returncode
        if run.host_death_ms is None and run.returncode not in (0, None):
            run.host_death_ms = run.eof_ms  # its output ends when it dies
        run.stderr_tail = stderr.decode(errors="replace")
        for stream in (probe.process.stdout, probe.process.stderr):
            stream.close()
    return run


def become_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (a probe's runner
    processes when the probe dies), so the cleanup can find and reap them."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False
