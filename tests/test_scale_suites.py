"""The density and concurrency suites end to end under plain `pytest bench`
(a run of one trial) on the smoke profile, on the isolate and subprocess
backends: the results' shape, the summary's keys, and nothing left behind."""

import json
import os
import subprocess
import sys
import uuid

import psutil
import pytest

from harness.paths import REPO_ROOT

MARK = f"isobench-scale-{uuid.uuid4().hex[:8]}"


def marked_runners():
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if (any("node_runner.js" in part for part in process.info["cmdline"] or [])
                    and process.status() != psutil.STATUS_ZOMBIE
                    and process.environ().get("ISOBENCH_SCALE_MARK") == MARK):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale") / "results.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ISOBENCH_SCALE_MARK": MARK}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(REPO_ROOT / "bench"), "-p", "no:cacheprovider", "-q",
         f"--rootdir={REPO_ROOT}", "--isobench-backends=isolate,subprocess", "--isobench-profile=smoke",
         "--isobench-suites=density,concurrency",
         "--isobench-inherit-env=ISOBENCH_SCALE_MARK", f"--isobench-results={out}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env,
    )
    leftovers = marked_runners()
    for process in leftovers:
        process.kill()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    summary = subprocess.run([sys.executable, "-m", "harness", "summary", str(out), "--format", "json"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert summary.returncode == 0, summary.stderr
    return json.loads(out.read_text()), json.loads(summary.stdout), leftovers


@pytest.mark.slow
def test_nothing_is_left_behind(smoke_results):
    _, _, leftovers = smoke_results
    assert leftovers == [], f"node runners left behind: {[p.pid for p in leftovers]}"


@pytest.mark.slow
def test_density_results_have_their_shape(smoke_results):
    raw, summary, _ = smoke_results
    by_name = {bench["name"]: bench["extra_info"] for bench in raw["benchmarks"]}
    for name, klass, kind, ladder in (("isolate", "in-process", "uss", [1, 5, 20]),
                                      ("subprocess", "process", "pss", [1, 3])):
        sweep = by_name[f"test_density[{name}]"]["sweeps"][0]
        assert sweep["instance_class"] == klass and sweep["ladder"] == ladder
        assert [step["n"] for step in sweep["steps"]] == ladder
        assert sweep["stopped_because"] == "ladder complete"
        entry = summary["backends"][name]["density"]
        assert entry["memory_kind"] == kind
        assert entry["max_n_reached"] == ladder[-1]
        assert entry["instances_per_gib"] > 0 and entry["marginal_mb"] > 0
        assert [point["n"] for point in entry["curve"]] == ladder
        assert entry["curve"][0]["marginal_mb"] is None and entry["curve"][-1]["instances_per_gib"] > 0
        assert summary["backends"][name]["available"] is True


@pytest.mark.slow
def test_concurrency_results_have_their_shape(smoke_results):
    raw, summary, _ = smoke_results
    by_name = {bench["name"]: bench["extra_info"] for bench in raw["benchmarks"]}
    for name in ("isolate", "subprocess"):
        extra = by_name[f"test_concurrency[{name}]"]["sweeps"][0]
        assert extra["primary_mode"] == "per-caller" and list(extra["modes"]) == ["per-caller"]
        levels = extra["modes"]["per-caller"]["levels"]
        assert [level["callers"] for level in levels] == [1, 2, 4]
        for level in levels:
            assert len(level["latencies_ns"]) == sum(level["calls_per_caller"]) > 0
            assert all(latency > 0 for latency in level["latencies_ns"])
        entry = summary["backends"][name]["concurrency"]
        assert entry["mode"] == "per-caller" and entry["cores"] >= 1 and entry["note"]
        for k in ("1", "2", "4"):
            assert entry[k]["throughput_rps"] > 0 and entry[k]["p99_us"] >= entry[k]["median_us"] > 0
