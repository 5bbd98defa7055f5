"""Last-resort cleanup after a run, whatever happened inside it: containers
labelled with the run's id, oci-* containers, cgroups and bundles named with
it, and runner processes still under this process."""

from __future__ import annotations

import psutil

from harness.backends.base import BackendUnavailable


def leftover_runner_processes() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any("node_runner.js" in part or "isolate_first" in part for part in child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def clean_up_run(run_id: str, containers: bool) -> list[str]:
    """Remove what a run left behind; returns a line per thing removed."""
    removed = []
    for process in leftover_runner_processes():
        try:
            process.kill()
            process.wait(timeout=5)
            removed.append(f"process {process.pid}")
        except psutil.Error:
            continue
    from harness.backends.oci import remove_session_leftovers

    removed += remove_session_leftovers(run_id)  # oci-* containers, cgroups and bundles
    if containers:
        from harness.backends.container import docker_client, remove_labelled_containers

        try:
            client = docker_client(timeout=30)
        except BackendUnavailable:
            return removed
        try:
            count = remove_labelled_containers(client, run_id)
            if count:
                removed.append(f"{count} container(s)")
        finally:
            client.close()
    return removed
