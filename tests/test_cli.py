"""The command line end to end: real runs on the smoke profile, bad input,
and cleanup after failing and interrupted runs."""

import json
import os
import subprocess
import sys
import uuid

import psutil
import pytest

from harness.paths import REPO_ROOT

from .conftest import docker_or_skip, isobench_containers
from .descendants import Watched, wait_until


# Runner processes started by this test session carry this marker (passed
# through with --inherit-env), so that runs going on side by side are not ours.
MARK = f"isobench-test-{uuid.uuid4().hex[:8]}"
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ISOBENCH_TEST_MARK": MARK}


def harness(*args, timeout=600, env=None, **kwargs):
    if args and args[0] == "run":
        args = (*args, "--inherit-env", "ISOBENCH_TEST_MARK")
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env or ENV, **kwargs)


def runner_processes():
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            cmdline = process.info["cmdline"] or []
            if (any("node_runner.js" in part for part in cmdline) and process.status() != psutil.STATUS_ZOMBIE
                    and process.environ().get("ISOBENCH_TEST_MARK") == MARK):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_run_smoke_writes_results_and_summary(tmp_path):
    result = harness("run", "--backends", "isolate,subprocess", "--profile", "smoke", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "latest.json" in files and len(files) == 2, files
    assert "| isolate |" in result.stdout and "| subprocess |" in result.stdout
    raw = json.loads((tmp_path / "latest.json").read_text())
    assert raw["isobench"]["status"] == "complete"
    assert raw["machine_info"]["isobench"]["cpu_count"] >= 1
    names = {b["name"] for b in raw["benchmarks"]}
    from harness.procedures.cpu_regime import AwakeLever

    awake = ("cold_start_awake", "warm_call_awake", "transport_awake") if AwakeLever().available else ()
    assert names == {f"test_{m}[{b}]"
                     for m in ("cold_start", "warm_call", "transport", "memory", "density", "concurrency", "storm", "load",
                               "start_rate", *awake)
                     for b in ("isolate", "subprocess")}
    warm = next(b for b in raw["benchmarks"] if b["name"] == "test_warm_call[isolate]")
    assert warm["extra_info"]["hdr_histogram"].startswith("HISTF")
    assert len(warm["extra_info"]["warmup"]["values"]) >= 2 * 5  # smoke: 5 warm-up calls in each of 2 trials
    cold = next(b for b in raw["benchmarks"] if b["name"] == "test_cold_start[isolate]")
    assert len(cold["stats"]["data"]) == 6  # 3 smoke rounds in each of 2 trials; warmup rounds not kept
    assert len(cold["extra_info"]["phases"]["create_isolate"]["values"]) == 6
    assert cold["extra_info"]["answers"] == ["Hello World!"]

    summary = harness("summary", str(tmp_path / "latest.json"), "--format", "json")
    assert summary.returncode == 0, summary.stderr
    data = json.loads(summary.stdout)
    for name in ("isolate", "subprocess"):
        entry = data["backends"][name]
        assert entry["available"] is True
        assert set(entry["cold_start_ms"]) >= {"median", "ci95", "n", "trials", "between_trials_cv"}
        assert entry["cold_start_ms"]["trials"] == 2
        assert set(entry["warm_call_us"]) >= {"median", "ci95", "p90", "p99", "n"}
        assert entry["memory_per_instance_mb"]["uss"]["median"] > 0
    assert data["backends"]["isolate"]["first_instance_ms"]["n"] == 2
    assert "subprocess/isolate" in data["ratios"]["cold_start"]
    assert runner_processes() == []


def test_list_shows_every_backend():
    result = harness("list")
    assert result.returncode == 0
    for name in ("isolate", "subprocess", "container"):
        assert name in result.stdout


@pytest.mark.parametrize("args, message", [
    (["run", "--backends", "isolate,teleport"], "unknown backend(s) teleport"),
    (["run", "--profile", "forever"], "unknown profile"),
    (["run", "--worker", "/nonexistent/worker.js"], "worker file not found"),
    (["run", "--pin", "zero"], "bad CPU list"),
    (["summary", "/nonexistent/results.json"], "results file not found"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = harness(*args, "--out", str(tmp_path)) if args[0] == "run" else harness(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_malformed_worker_is_rejected_before_running(tmp_path):
    worker = tmp_path / "broken.js"
    worker.write_text("export function handler(n) { return sayHello(n) +; }\n")
    out = tmp_path / "out"
    result = harness("run", "--worker", str(worker), "--out", str(out), "--profile", "smoke")
    assert result.returncode == 2
    assert "does not load" in result.stderr and "SyntaxError" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [
    ("{not json", "corrupt JSON"),
    ('{"benchmarks": []}', "not written by isobench"),
    ('[1, 2]', "not a JSON object"),
    ('{"isobench": {"schema": "isobench/99"}, "benchmarks": []}', "not supported"),
])
def test_corrupt_results_file(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_text(content)
    result = harness("summary", str(path))
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.slow
def test_failing_run_leaves_nothing_behind(tmp_path):
    worker = tmp_path / "tired.js"
    worker.write_text("let calls = 0;\n"
                      "export function handler(n) { if (++calls > 3) throw new Error('tired'); return sayHello(n); }\n")
    result = harness("run", "--worker", str(worker), "--backends", "subprocess", "--profile", "smoke",
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout[-2000:]
    assert "isobench: subprocess failed" in result.stderr and "tired" in result.stderr
    assert runner_processes() == []
    saved = json.loads((tmp_path / "out" / "latest.json").read_text())
    assert saved["isobench"]["status"] == "some-measurements-failed"
    assert any("warm_call" in f and "tired" in f for f in saved["isobench"]["backends"]["subprocess"]["failures"])


def test_worker_without_handler_is_bad_input(tmp_path):
    worker = tmp_path / "nohandler.js"
    worker.write_text("export function greet(n) { return sayHello(n); }\n")
    result = harness("run", "--worker", str(worker), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "exports neither `handler` nor a default" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["--backends", "teleport"], "unknown backend(s) teleport"),
    (["--worker", "/nonexistent/worker.js"], "worker file not found"),
])
def test_bad_input_writes_nothing_over_earlier_results(tmp_path, args, message):
    earlier = tmp_path / "latest.json"
    earlier.write_text('{"earlier": true}\n')
    result = harness("run", *args, "--out", str(tmp_path))
    assert result.returncode == 2 and message in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]
    assert earlier.read_text() == '{"earlier": true}\n'


def test_no_docker_engine_is_one_line_and_exit_2(tmp_path):
    env = {**ENV, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = harness("run", "--backends", "container", "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert "no requested backend can run here: container: no Docker engine at unix://" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.docker
def test_docker_engine_dying_mid_run(tmp_path):
    """The engine goes away in the middle of the container suite (a proxy to
    the shared dockerd is killed, dockerd itself keeps running): the container
    backend fails with a one-line reason, the other backend's results are
    saved, and the run's containers are removed through the local socket."""
    client = docker_or_skip()
    socket_path = tmp_path / "engine.sock"
    proxy = subprocess.Popen([sys.executable, "-m", "tests.docker_proxy", str(socket_path)], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, text=True, env=ENV)
    run_id = f"{MARK}-engine-dies"
    out = tmp_path / "out"
    try:
        assert proxy.stdout.readline().strip() == "ready"
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "--backends", "subprocess,container", "--profile", "smoke",
             "--out", str(out), "--run-id", run_id, "--inherit-env", "ISOBENCH_TEST_MARK"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**ENV, "DOCKER_HOST": f"unix://{socket_path}"})
        with Watched(process) as watch:
            wait_until(process, lambda: isobench_containers(client, run_id), "a container started")
            proxy.kill()
            proxy.wait()
            stdout, stderr = process.communicate(timeout=600)
    finally:
        if proxy.poll() is None:
            proxy.kill()
            proxy.wait()
    assert process.returncode == 1, stderr[-3000:]
    failed = [line for line in stderr.splitlines() if line.startswith("isobench: container failed")]
    assert len(failed) == 1 and "onnection" in failed[0], stderr[-3000:]
    assert isobench_containers(client, run_id) == []
    assert runner_processes() == [] and watch.alive() == []
    saved = json.loads((out / "latest.json").read_text())
    assert saved["isobench"]["status"] == "some-measurements-failed"
    assert any("onnection" in f for f in saved["isobench"]["backends"]["container"]["failures"])
    assert any(b["name"] == "test_cold_start[subprocess]" for b in saved["benchmarks"])


@pytest.mark.slow
def test_pin_is_applied_and_recorded(tmp_path):
    result = harness("run", "--backends", "subprocess", "--profile", "smoke", "--pin", "0", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    raw = json.loads((tmp_path / "latest.json").read_text())
    assert raw["isobench"]["conditions"]["pinned_cpus"] == [0]


def test_ab_with_a_base_that_is_no_commit_is_bad_input(tmp_path):
    result = harness("ab", "--base", "no-such-ref", "--profile", "ci", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == "isobench: error: --base no-such-ref: not a commit of this repository"
    assert not (tmp_path / "out").exists()


def test_a_reader_that_stops_early_gets_no_traceback():
    """`summary ... | head`: the pipe closes before the summary is printed; one exit status, no traceback."""
    [path] = sorted((REPO_ROOT / "results" / "reference").glob("*-full.json.gz"))
    read, write = os.pipe()
    os.close(read)  # the reader has already gone
    try:
        done = subprocess.run([sys.executable, "-m", "harness", "summary", str(path), "--format", "json"],
                              cwd=REPO_ROOT, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, env=ENV)
    finally:
        os.close(write)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
