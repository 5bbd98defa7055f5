"""Last-resort cleanup after a run, whatever happened inside it: what each of
the run's backends says a crashed run of it can leave behind (containers
labelled with the run's id, OCI bundles and cgroups), and processes still
under this process whose command line carries a backend's mark."""

from __future__ import annotations

import time

import psutil

from harness.backends import backend_class

# Processes the harness itself starts around the backends.
HARNESS_MARKS = ("harness.containment.probe", "harness.measure.trial_process",
                 "harness.measure.worker")  # the trial process of an A/B base before December 2026


def _marks(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return HARNESS_MARKS + tuple(mark for name in names for mark in backend_class(name).runner_marks)


def leftover_processes(marks: tuple[str, ...]) -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any(mark in part for part in child.cmdline() for mark in marks):
                found.append(child)
        except psutil.Error:
            continue
    return found


SETTLE_S = 1.0  # between passes after an interruption
MAX_PASSES = 4


def clean_up_run(run_id: str, names: list[str] | tuple[str, ...], settle: bool = False) -> list[str]:
    """Remove what a run of these backends left behind; a line per thing removed.

    With `settle` (after Ctrl-C, SIGTERM or a lost trial) it looks again after
    SETTLE_S, until a pass finds nothing: a container create the killed trial
    had asked for can still be completed by the engine after the first pass."""
    removed = _one_pass(run_id, names)
    passes = 1
    while settle and passes < MAX_PASSES:
        time.sleep(SETTLE_S)
        found = _one_pass(run_id, names)
        passes += 1
        if not found:
            break
        removed += found
    return removed


def _one_pass(run_id: str, names: list[str] | tuple[str, ...]) -> list[str]:
    removed = []
    for process in leftover_processes(_marks(names)):
        try:
            process.kill()
            process.wait(timeout=5)
            removed.append(f"process {process.pid}")
        except psutil.Error:
            continue
    done = set()
    for name in names:
        cleanup = backend_class(name).cleanup
        if cleanup.__func__ in done:
            continue
        done.add(cleanup.__func__)
        removed += cleanup(run_id)
    return removed
