import os

import psutil
import pytest

from harness.backends.base import BackendUnavailable


def docker_or_skip():
    """A Docker client, or skip; with ISOBENCH_REQUIRE_DOCKER=1 (CI) a missing engine fails."""
    from harness.backends.container import docker_client

    try:
        return docker_client()
    except BackendUnavailable as error:
        if REQUIRE_ALL or os.environ.get("ISOBENCH_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker is required here: {error}")
        pytest.skip(str(error))


# Set by .ci/run after scripts/setup-host.sh: every backend must be available here.
REQUIRE_ALL = os.environ.get("ISOBENCH_REQUIRE_ALL") == "1"


def available_or_skip(backend) -> None:
    """Skip, saying why, when the backend cannot run here; with ISOBENCH_REQUIRE_ALL=1 (CI) fail instead."""
    availability = backend.availability()
    if not availability.available:
        backend.close()
        if REQUIRE_ALL:
            pytest.fail(f"{backend.name} is required here: {availability.reason}")
        pytest.skip(f"{backend.name} unavailable: {availability.reason}")


def isobench_containers(client, session=None):
    """isobench containers; only one session's (run id's) when given, so that
    tests and runs going on side by side do not see each other's."""
    label = f"isobench.session={session}" if session else "isobench"
    return client.containers.list(all=True, filters={"label": label}, ignore_removed=True)


def node_descendants():
    return [p for p in psutil.Process().children(recursive=True) if _is_node(p)]


def _is_node(process):
    try:
        return "node" in process.name()
    except psutil.Error:
        return False


@pytest.fixture
def no_leftover_processes():
    """Fails the test if it leaves a node child process behind."""
    yield
    leftovers = node_descendants()
    for process in leftovers:
        process.kill()
    assert not leftovers, f"node processes left behind: {[p.pid for p in leftovers]}"
