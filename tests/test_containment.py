"""Each row of the containment matrix, on each core backend, from real
behaviour: every pair runs in its own probe process, exactly as
`python -m harness contain` runs it. The assertions are the backends' known
properties; the verdicts they check are computed from what happened."""

import json

import pytest

from harness.backends import REGISTRY
from harness.containment.bait import Bait
from harness.containment.matrix import MIB, Plan, backend_status, default_limits, run_pair

from .conftest import docker_or_skip, isobench_containers

pytestmark = pytest.mark.slow
RUN_ID = "isobench-test-containment"
PLAN = Plan(backends=[], workloads=[], limits=default_limits(2.0, 128), host_memory_bytes=768 * MIB, run_id=RUN_ID)
FATAL_SIGNALS = {"SIGTRAP", "SIGABRT", "SIGSEGV", "SIGILL", "SIGBUS"}


@pytest.fixture(scope="module")
def bait():
    made = Bait()
    yield made
    made.close()


@pytest.fixture
def pair(bait, no_leftover_processes):
    def run(backend: str, workload: str) -> dict:
        """The pair's record as the results file holds it."""
        client = docker_or_skip() if backend == "container" else None
        result = run_pair(backend, workload, PLAN, bait).to_json()
        if client is not None:
            assert not isobench_containers(client, RUN_ID), "containers left behind"
        assert result.get("unavailable") is None and result.get("setup_error") is None, result
        return result
    return run


def assert_stopped(result, error_type):
    assert result["contained"] is True, result["why"]
    assert result["host"]["survived"] is True
    assert result["outcome"]["kind"] == "error" and result["outcome"]["error_type"] == error_type
    assert result["outcome"]["typed"] is True
    assert result["next"]["ok"] is True and result["next"]["answer"] == "Hello World!"


def escape_answer(result) -> dict:
    return json.loads(result["outcome"]["answer"])


# spin: every backend stops it with CallTimeout, at the limit.

@pytest.mark.parametrize("backend", ["isolate", "subprocess", pytest.param("container", marks=pytest.mark.docker)])
def test_spin_is_stopped_at_the_call_limit(pair, backend):
    result = pair(backend, "spin")
    assert_stopped(result, "CallTimeout")
    assert result["outcome"]["detect_ms"] >= 2000 * 0.99


# heap-bomb: processes and containers stop it at their memory limit; the
# isolate's hard limit counts the V8 heap only, and typed arrays are not in it.

@pytest.mark.parametrize("backend", ["subprocess", pytest.param("container", marks=pytest.mark.docker)])
def test_heap_bomb_is_stopped_at_the_memory_limit(pair, backend):
    result = pair(backend, "heap-bomb")
    assert_stopped(result, "MemoryLimitExceeded")
    assert result["outcome"]["detect_ms"] < 2000  # the memory limit, not the deadline


def test_isolate_heap_bomb_outgrows_its_memory_limit(pair):
    result = pair("isolate", "heap-bomb")
    assert result["contained"] is False
    host = result["host"]
    grew_past = host["call_growth_bytes"] is not None and host["call_growth_bytes"] > 1.25 * 128 * MIB
    assert host["killed_by"] == "host-memory-safety" or grew_past, result["why"]
    assert result["outcome"] is None or result["outcome"].get("error_type") != "MemoryLimitExceeded"


# crash: node's process.abort() kills only the runner or the container; an
# engine-fatal error in an in-process isolate kills its host.

@pytest.mark.parametrize("backend", ["subprocess", pytest.param("container", marks=pytest.mark.docker)])
def test_crash_kills_only_the_instance(pair, backend):
    result = pair(backend, "crash")
    assert_stopped(result, "InstanceCrashed")
    assert result["outcome"]["detect_ms"] < 2000


def test_isolate_crash_kills_its_host_process(pair):
    result = pair("isolate", "crash")
    assert result["contained"] is False
    assert result["host"]["survived"] is False
    assert result["host"]["killed_by"] is None  # it died on its own
    assert result["host"]["exit"] in FATAL_SIGNALS
    assert result["host"]["death_ms"] > 0


# escape: a node subprocess reads host files, reaches 127.0.0.1 and the host's
# environment; a container with --network none does not; the isolate has no
# binding to any of it.

def test_subprocess_escape_reaches_the_host(pair, bait):
    result = pair("subprocess", "escape")
    assert result["contained"] is False
    assert result["obtained"]["host_secret_file"] is True
    assert result["obtained"]["host_loopback"] is True
    assert result["obtained"]["host_environment"] is True
    assert escape_answer(result)["files"]["secret"]["value"] == bait.secret


@pytest.mark.docker
def test_container_escape_gets_nothing_and_loopback_is_its_own(pair):
    result = pair("container", "escape")
    assert result["contained"] is True, result["why"]
    assert not any(result["obtained"].values())
    answer = escape_answer(result)
    assert answer["routes"], "node's modules are reachable inside the container too"
    assert answer["files"]["secret"]["ok"] is False
    assert answer["files"]["hostname"]["ok"] is True  # its own /etc/hostname, not the host's
    assert answer["loopback"]["route"] and answer["loopback"]["connected"] is False


def test_isolate_escape_finds_no_binding(pair):
    result = pair("isolate", "escape")
    assert result["contained"] is True, result["why"]
    assert not any(result["obtained"].values())
    answer = escape_answer(result)
    assert answer["routes"] == [] and answer["runtime"]["process"] is False
    assert answer["loopback"]["route"] is None


# neighbour: sibling node processes see and change each other (files in the
# shared /tmp, memory through /proc/PID/mem); isolates and containers do not.

def test_subprocess_neighbour_sees_and_changes_the_other(pair):
    result = pair("subprocess", "neighbour")
    assert result["contained"] is False
    assert result["obtained"]["saw_other_instance"] is True
    assert result["obtained"]["modified_other_instance"] is True


@pytest.mark.parametrize("backend", ["isolate", pytest.param("container", marks=pytest.mark.docker)])
def test_neighbour_sees_nothing(pair, backend):
    result = pair(backend, "neighbour")
    assert result["contained"] is True, result["why"]
    assert result["obtained"] == {"saw_other_instance": False, "seen_via": [], "modified_other_instance": False,
                                  "modified": []}
    assert result["outcome"]["check"]["global"] == result["outcome"]["token"]


# The registry: a backend that does not take Limits is skipped with the reason.

def test_backend_without_limits_is_skipped(monkeypatch):
    monkeypatch.setitem(REGISTRY, "fake-no-limits", "tests.fakes:FakeDropsLimits")
    status = backend_status("fake-no-limits", PLAN)
    assert status.available is False and "does not enforce the Limits" in status.reason


def test_backend_with_limits_joins(monkeypatch):
    monkeypatch.setitem(REGISTRY, "fake-limits", "tests.fakes:FakeBackend")
    assert backend_status("fake-limits", PLAN).available is True

