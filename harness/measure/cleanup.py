"""Last-resort cleanup after a run, whatever happened inside it: containers
labelled with the run's id, oci-* containers, cgroups and bundles named with
it, and runner processes still under this process."""

from __future__ import annotations

import psutil

from harness.backends.base import BackendUnavailable


# Command-line parts of the processes a run starts (runners, first-isolate
# probes, containment probes, workerd serving a config from its temp dir).
RUNNER_MARKS = ("node_runner.js", "isolate_first", "harness.containment.probe", "isobench-workerd-")
LOCAL_ENGINE = "unix:///var/run/docker.sock"


def leftover_runner_processes() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any(mark in part for part in child.cmdline() for mark in RUNNER_MARKS):
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
        removed += _remove_containers(run_id)
    return removed


def _remove_containers(run_id: str) -> list[str]:
    """The run's containers, through the engine DOCKER_HOST names; if that
    engine is gone (it died mid-run, or the path to it did), through this
    machine's default socket too, where a local engine may still hold them."""
    import os

    from harness.backends.container import docker_client, remove_labelled_containers

    try:
        client = docker_client(timeout=30)
    except BackendUnavailable:
        if os.environ.get("DOCKER_HOST", LOCAL_ENGINE) == LOCAL_ENGINE or not os.path.exists(LOCAL_ENGINE[7:]):
            return []
        import docker

        client = docker.DockerClient(base_url=LOCAL_ENGINE, timeout=30)
    try:
        count = remove_labelled_containers(client, run_id)
    except Exception as error:  # the last resort must not hide the run's own outcome
        return [f"containers not removed ({str(error).splitlines()[0]})"]
    finally:
        client.close()
    return [f"{count} container(s)"] if count else []
