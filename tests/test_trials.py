"""Runs in trials, end to end: every sample carries its trial; a trial process
that is killed or aborts (a real V8 fatal error) loses only its own trial;
Ctrl-C and SIGTERM keep the finished trials and the journal, and `--resume`
finishes the run; nothing is left behind."""

import json
import signal
import subprocess
import sys
import time

import psutil
import pytest

from harness.paths import REPO_ROOT

from .descendants import Watched, wait_until
from .test_cli import ENV, harness, runner_processes

pytestmark = pytest.mark.slow


def load(path):
    return json.loads(path.read_text())


def worker_processes(parent: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(parent).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            if "harness.measure.trial_process" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def start_run(tmp_path, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--backends", "isolate,subprocess", "--profile", "smoke",
         "--out", str(tmp_path / "out"), "--inherit-env", "ISOBENCH_TEST_MARK", *extra],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def test_every_sample_carries_its_trial(tmp_path):
    result = harness("run", "--backends", "isolate,subprocess", "--profile", "smoke", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    raw = load(tmp_path / "latest.json")
    record = raw["isobench"]
    assert record["schema"] == "isobench/2" and record["status"] == "complete"
    assert [t["index"] for t in record["trials"]] == [0, 1] and all(t["status"] == "complete" for t in record["trials"])
    assert record["provenance"]["recorded_at_start"] and record["provenance"]["load_average"]
    for bench in raw["benchmarks"]:
        extra = bench["extra_info"]
        if extra["metric"] in ("cold_start", "warm_call", "transport"):
            assert len(extra["trials"]) == len(bench["stats"]["data"]) > 0
            assert set(extra["trials"]) == {0, 1}, bench["name"]
    assert not list(tmp_path.glob("*.journal.jsonl")), "the journal goes when the run is complete"
    assert runner_processes() == []


def test_a_killed_trial_process_loses_only_its_trial(tmp_path):
    process = start_run(tmp_path)
    with Watched(process) as watch:
        wait_until(process, lambda: worker_processes(process.pid), "the first trial started")
        time.sleep(0.5)
        victim = worker_processes(process.pid)[0]
        victim.send_signal(signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 1, stderr[-3000:]
    assert "trial 0 lost: the trial process killed by SIGKILL" in stderr
    record = load(tmp_path / "out" / "latest.json")["isobench"]
    assert record["status"] == "some-trials-lost"
    assert [(t["index"], t["status"]) for t in record["trials"]] == [(0, "lost"), (1, "complete")]
    assert watch.alive() == [] and runner_processes() == []


def test_a_v8_fatal_error_in_a_trial_loses_only_that_trial(tmp_path):
    """The hostile crash worker inside trial 0's isolate aborts the whole trial
    process (an engine-fatal allocation); trial 1 runs, the run saves it."""
    process = start_run(tmp_path, "--inject-crash", "isolate@0")
    with Watched(process) as watch:
        stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 1, stderr[-3000:]
    lost = [line for line in stderr.splitlines() if line.startswith("isobench: trial 0 lost")]
    assert lost and "killed by SIG" in lost[0], stderr[-3000:]
    raw = load(tmp_path / "out" / "latest.json")
    trials = raw["isobench"]["trials"]
    assert [(t["index"], t["status"]) for t in trials] == [(0, "lost"), (1, "complete")]
    assert raw["isobench"]["injected"]["isolate"]["crash_trial"] == 0
    cold = next(b for b in raw["benchmarks"] if b["name"] == "test_cold_start[isolate]")
    assert set(cold["extra_info"]["trials"]) == {1}
    assert watch.alive() == [] and runner_processes() == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_keeps_its_trials_and_resumes(tmp_path, sig):
    process = start_run(tmp_path)
    out = tmp_path / "out"
    with Watched(process) as watch:
        wait_until(process, lambda: len(worker_processes(process.pid)) and list(out.glob("*.journal.jsonl"))
                   and len(out.glob("*.journal.jsonl").__next__().read_text().splitlines()) >= 2,
                   "the first trial finished")
        wait_until(process, lambda: worker_processes(process.pid), "the second trial started")
        time.sleep(0.3)
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert watch.alive() == [] and runner_processes() == []
    record = load(out / "latest.json")["isobench"]
    assert record["status"] == "interrupted"
    assert [t["index"] for t in record["trials"] if t["status"] == "complete"] == [0]
    journal = next(out.glob("*.journal.jsonl"))
    assert f"--resume {journal}" in stderr
    resumed = harness("run", "--resume", str(journal))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = load(out / "latest.json")["isobench"]
    assert final["status"] == "complete" and final["resumed"]
    assert [t["index"] for t in final["trials"]] == [0, 1]
    assert not journal.exists()


def test_resume_of_a_broken_journal_is_one_line(tmp_path):
    broken = tmp_path / "x.journal.jsonl"
    broken.write_text("not json\n{}\n")
    result = harness("run", "--resume", str(broken))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "journal" in result.stderr


def test_injected_percent_delay_is_calibrated_and_recorded(tmp_path):
    result = harness("run", "--backends", "isolate,subprocess", "--profile", "smoke", "--out", str(tmp_path),
                     "--inject-start-delay", "subprocess=50%")
    assert result.returncode == 0, result.stderr[-2000:]
    injected = load(tmp_path / "latest.json")["isobench"]["injected"]["subprocess"]
    assert injected["percent"] == 50 and injected["ms"] == pytest.approx(injected["calibrated_median_ms"] / 2)
    assert "WARNING: injected" in result.stderr
    phases = load(tmp_path / "latest.json")["benchmarks"]
    cold = next(b for b in phases if b["name"] == "test_cold_start[subprocess]")
    assert "injected_delay" in cold["extra_info"]["phases"]


def test_cleanup_after_an_interruption_looks_again_until_nothing_is_left(monkeypatch):
    # A container the killed trial had asked for can appear after the first pass.
    from harness.measure import cleanup

    appearing = [["1 container(s)"], [], ["1 container(s)"], []]

    class Late:
        runner_marks = ()

        @classmethod
        def cleanup(cls, run_id):
            return appearing.pop(0) if appearing else []

    monkeypatch.setattr(cleanup, "backend_class", lambda name: Late)
    monkeypatch.setattr(cleanup, "leftover_processes", lambda marks: [])
    monkeypatch.setattr(cleanup, "SETTLE_S", 0.0)
    assert cleanup.clean_up_run("r", ["container"]) == ["1 container(s)"]  # a plain end: one pass
    assert appearing == [[], ["1 container(s)"], []]
    appearing[:] = [[], ["1 container(s)"], []]
    # The first pass finds nothing, the second the late container, the third nothing: done.
    assert cleanup.clean_up_run("r", ["container"], settle=True) == ["1 container(s)"]
    assert appearing == []
    appearing[:] = [["1 container(s)"], ["1 container(s)"], []]
    assert cleanup.clean_up_run("r", ["container"], settle=True) == ["1 container(s)", "1 container(s)"]
    assert appearing == []


def test_scratch_folders_of_a_killed_process_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from harness.backends import base

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mine = base.scratch_folder("codecache")  # this process is alive: kept
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f"isobench-codecache-{int(dead.stdout)}-abc"
    orphan.mkdir()
    (orphan / "x.v8cache").write_text("x")
    other = tmp_path / f"isobench-workerd-{int(dead.stdout)}-abc"
    other.mkdir()
    assert base.remove_orphan_scratch("codecache") == ["1 codecache scratch folder(s)"]
    assert mine.is_dir() and not orphan.exists() and other.is_dir()  # another kind is its backend's to remove
    assert base.remove_orphan_scratch("codecache") == []
