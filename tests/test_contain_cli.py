"""`python -m harness contain` end to end: the matrix, the results file, bad
input, and Ctrl-C / SIGTERM in the middle of a pair."""

import os
import signal
import subprocess
import sys
import time

import pytest

from harness.containment.record import load
from harness.paths import REPO_ROOT

from .conftest import docker_or_skip, isobench_containers
from .descendants import Watched, wait_until

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def contain(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "harness", "contain", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env or ENV)


@pytest.mark.slow
def test_contain_prints_the_matrix_and_writes_both_files(tmp_path):
    result = contain("--backends", "isolate", "--workloads", "spin,escape", "--timeout", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| worker | isolate |" in result.stdout
    assert "| spin | contained: CallTimeout" in result.stdout
    assert "| escape | contained: got nothing" in result.stdout
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[1] == "containment-latest.json" and names[0].startswith("containment-2")
    data = load(tmp_path / "containment-latest.json")
    assert data.status == "complete" and [p.workload for p in data.pairs] == ["spin", "escape"]
    assert data.limits.call_timeout_s == 1.0
    assert data.pairs[0].facts["limits"]["time"].startswith("deadline on the V8 answer")


@pytest.mark.parametrize("args, message", [
    (["--backends", "isolate,teleport"], "unknown backend(s) teleport"),
    (["--workloads", "spin,nap"], "unknown hostile worker(s) nap"),
    (["--timeout", "0"], "must be positive"),
    (["--memory-mb", "512", "--host-memory-mb", "256"], "larger than --memory-mb"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written_over(tmp_path, args, message):
    previous = tmp_path / "containment-latest.json"
    previous.write_text("earlier results\n")
    result = contain(*args, "--out", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["containment-latest.json"]
    assert previous.read_text() == "earlier results\n"


def test_out_that_is_a_file_is_bad_input(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    result = contain("--backends", "isolate", "--workloads", "spin", "--out", str(target))
    assert result.returncode == 2 and "is a file" in result.stderr
    assert target.read_text() == "keep me"


def test_no_docker_engine_is_bad_input_when_nothing_else_can_run(tmp_path):
    env = {**ENV, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = contain("--backends", "container", "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert "no requested backend can run here: container: no Docker engine at" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def interrupt_mid_pair(tmp_path, backends, started, sig, env=None, preexec_fn=None):
    """Start contain, wait until started() says a pair is under way, send sig."""
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "contain", "--backends", backends, "--workloads", "spin,heap-bomb",
         "--timeout", "20", "--out", str(out), "--run-id", "isobench-test-contain-signal"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env or ENV,
        preexec_fn=preexec_fn)
    with Watched(process) as watch:
        wait_until(process, lambda: started(watch), "the pair started")
        time.sleep(0.5)  # inside the spin call (20 s limit)
        process.send_signal(sig)
        output, _ = process.communicate(timeout=120)
    return process.returncode, output, out, watch


def runner_started(watch):
    return any("node_runner.js" in cmdline for _, cmdline in watch.seen.values())


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_pair_cleans_up_and_saves_what_it_has(tmp_path, sig):
    code, output, out, watch = interrupt_mid_pair(tmp_path, "subprocess", runner_started, sig)
    assert code == 130, output[-3000:]
    assert watch.seen and watch.alive() == [], "processes left behind"
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())
    data = load(out / "containment-latest.json")
    assert data.status == "interrupted"
    assert data.pairs == []  # the pair under way is not recorded as if it had finished


def _block_sigterm():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


@pytest.mark.slow
def test_sigterm_reaches_a_harness_whose_parent_blocked_it(tmp_path):
    # The signal mask is inherited: a CI runner that blocks SIGTERM must not make the run unstoppable.
    code, output, out, _ = interrupt_mid_pair(tmp_path, "subprocess", runner_started, signal.SIGTERM,
                                              preexec_fn=_block_sigterm)
    assert code == 130, output[-3000:]
    assert load(out / "containment-latest.json").status == "interrupted"


@pytest.mark.slow
@pytest.mark.docker
def test_ctrl_c_in_a_container_pair_leaves_no_container(tmp_path):
    client = docker_or_skip()
    run_id = "isobench-test-contain-signal"

    def container_started(watch):
        return bool(isobench_containers(client, run_id))

    code, output, out, watch = interrupt_mid_pair(tmp_path, "container", container_started, signal.SIGINT)
    assert code == 130, output[-3000:]
    assert isobench_containers(client, run_id) == []
    assert watch.seen and watch.alive() == []
    assert load(out / "containment-latest.json").status == "interrupted"
