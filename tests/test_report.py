"""The report: produced from a small results file built here, every plot a
valid PNG, every number of the headline recomputable from the raw samples,
partial runs and bad input handled."""

import copy
import importlib.util
import json
import re
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

from harness.paths import REPO_ROOT
from harness.measure.metadata import SCHEMA
from harness.report import build_report
from harness.report.colours import FIXED, colour_map
from harness.report.headline import compute_headline
from harness.report.plots import PLOT_FILES
from harness.results.store import load, parse
from harness.analysis.stats import CONFIDENCE, median_ratio
from harness.analysis.summary import summarize_results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The plots every run with cold start, warm call and memory figures gets.
CORE_PLOTS = ("cold_start.png", "cold_start_phases.png", "warm_call.png", "warm_call_breakdown.png", "memory.png",
              "memory_vs_n.png", "published.png")
MIB = 1 << 20


def _bench(backend, metric, data, **extra):
    return {"name": f"test_{metric}[{backend}]", "group": metric, "params": {"backend_name": backend},
            "stats": {"data": list(data)}, "extra_info": {"metric": metric, "backend": backend, **extra}}


def _memory(counts, per_instance, shared=0.0, kinds=("uss", "pss", "rss")):
    steps = [{"n": n, "total_bytes": {k: shared + n * per_instance for k in kinds},
              "per_instance_bytes": {k: (shared + n * per_instance) / n for k in kinds}} for n in counts]
    return {"counts": list(counts), "baseline_bytes": {}, "steps": steps,
            "per_instance_bytes": steps[-1]["per_instance_bytes"], "per_instance_at_n": counts[-1],
            "slope": {k: {"bytes_per_instance": per_instance, "stderr": 0.0, "intercept_bytes": shared}
                      for k in kinds},
            "scopes": {k: "the instances' process trees" for k in kinds}}


def _backend(rng, name, cold_s, warm_s, engine_ns, mem_bytes, phases):
    cold = rng.lognormal(np.log(cold_s), 0.08, 25)
    return [
        _bench(name, "cold_start", cold, unit="s", timer="time.perf_counter around start + first call",
               warmup_rounds_discarded=2,
               phases_ms={p: list(cold * 1e3 * share) for p, share in phases.items()}),
        _bench(name, "warm_call", rng.lognormal(np.log(warm_s), 0.2, 400), unit="s",
               timer="time.perf_counter around instance.call(arg)", engine_clock="performance.now",
               engine_method="handler in a JS loop", engine_ns_per_call=list(rng.uniform(2, 4, 6) * engine_ns)),
        _bench(name, "transport", rng.lognormal(np.log(warm_s * 0.8), 0.2, 400), unit="s",
               timer="time.perf_counter around one round trip"),
        _bench(name, "memory", [1.0], timer="duration of the sweep", memory=_memory((1, 5, 20), mem_bytes, 30 * MIB)),
    ]


def make_results(status="complete"):
    """A small results file with made-up samples (for testing the report only)."""
    rng = np.random.default_rng(7)
    benchmarks = (
        _backend(rng, "isolate", 0.005, 150e-6, 10, 0.7 * MIB, {"create_isolate": 0.8, "load_worker": 0.1, "first_call": 0.1})
        + _backend(rng, "subprocess", 0.05, 55e-6, 2, 6 * MIB, {"spawn": 0.02, "runtime_ready": 0.9, "load_worker": 0.08})
        + _backend(rng, "container", 0.35, 260e-6, 3, 7 * MIB, {"create": 0.1, "start": 0.8, "runtime_ready": 0.1})
    )
    benchmarks[0]["extra_info"]["first_isolate"] = {
        "timer": "inside a fresh interpreter", "total_ms": list(rng.normal(70, 3, 8)),
        "phases_ms": {"create_isolate": list(rng.normal(69, 3, 8)), "load_worker": [0.5] * 8}}
    versions = {"isolate": {"v8": "1.2.3"}, "subprocess": {"node": "20.0.0"}, "container": {"docker_engine": "20.10"}}
    record = {
        "schema": SCHEMA, "harness_version": "test", "status": status,
        "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:05:00+00:00",
        "profile": {"name": "quick", "engine_min_ms": 20.0, "warm_warmup_calls": 200, "memory_settle_s": 0.5},
        "worker": {"path": "workloads/hello/worker.js", "sha256": "ab" * 32, "bytes": 191},
        "requested_backends": ["isolate", "subprocess", "container", "oci-crun"],
        "backends": {**{n: {"available": True, "reason": "", "summary": f"a fresh {n}", "transport": "a pipe",
                            "versions": v} for n, v in versions.items()},
                     "oci-crun": {"available": False, "reason": "crun is not installed"}},
        "child_environment": {"variables": {"PATH": "/usr/bin"}, "inherited": [], "dropped_names": ["HOME"]},
        "pinned_cpus": None, "load_average_at_end": [0.1, 0.1, 0.1],
    }
    machine = {"cpu_model": "Test CPU", "cpu_count": 4, "affinity": [0, 1, 2, 3], "kernel": "6.0", "python": "3.11",
               "load_average": [0.2, 0.2, 0.2], "git": {"commit": "0" * 40, "branch": "main", "dirty": False},
               "timer": {"timer": "time.perf_counter", "implementation": "clock_gettime", "resolution_ns": 1.0,
                         "read_overhead_median_ns": 80}}
    return {"machine_info": {"isobench": machine}, "benchmarks": benchmarks, "isobench": record}


def write(tmp_path, raw, name="results.json"):
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


def harness(*args):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})


def assert_valid_png(path):
    content = path.read_bytes()
    assert content.startswith(PNG_SIGNATURE), path
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 400, (path, image.shape)
    assert float(np.std(image[..., :3])) > 0.01, f"{path} is blank"
    # GitHub shows images at most about 1000 px wide: a wider PNG is shrunk and its text with it
    assert image.shape[1] <= 1100, (path, image.shape)


def test_report_command_writes_markdown_and_every_plot(tmp_path):
    results = write(tmp_path, make_results())
    before = results.read_bytes()
    out = tmp_path / "report"
    result = harness("report", str(results), "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = (out / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert set(CORE_PLOTS) <= set(images) <= set(PLOT_FILES)
    for name in images:
        assert_valid_png(out / name)
    assert results.read_bytes() == before  # a reporter only reads
    # the sections a reader looks for, in order, and the unavailable backend with its reason
    positions = [text.index(h) for h in ("## Summary", "## Cold start", "## Warm call", "## Memory",
                                         "## Measured here versus published", "## Caveats", "## Methodology",
                                         "## Environment")]
    assert positions == sorted(positions)
    assert "crun is not installed" in text
    assert "published claim" in text and "published measurement" in text


def _numbers(text):
    """The numbers of a headline, leaving out the words "V8" and "95% CI"."""
    return re.findall(r"\d+(?:\.\d+)?", text.replace("V8", "").replace(f"{CONFIDENCE:.0%} CI", ""))


def test_every_number_in_the_headline_is_recomputable():
    results = parse(make_results())
    headline = compute_headline(summarize_results(results))
    samples = {b: results.find(b, "cold_start").samples for b in ("isolate", "subprocess", "container")}
    memory = {b: results.find(b, "memory").extra["memory"]["per_instance_bytes"]["pss"]
              for b in ("isolate", "subprocess", "container")}
    expected = []
    for other in ("container", "subprocess"):  # the headline's order
        ratio = median_ratio(samples[other], samples["isolate"])
        expected += [ratio.value, ratio.ci95[0], ratio.ci95[1], memory[other] / memory["isolate"]]
    shown = _numbers(headline.text)
    assert len(shown) == len(expected), headline.text
    for text, value in zip(shown, expected):
        digits = len(text.split(".")[1]) if "." in text else 0
        assert float(text) == pytest.approx(round(value, digits), abs=10 ** -digits / 2 + 1e-9), (text, value)
    assert "faster" in headline.text and "Docker container" in headline.text


def test_partial_run_says_so_at_the_top_and_keeps_what_was_measured(tmp_path):
    raw = make_results(status="interrupted")
    raw["benchmarks"] = [b for b in raw["benchmarks"] if b["extra_info"]["backend"] != "container"]
    raw["isobench"]["backends"]["container"] = {"available": False, "reason": "Docker engine not reachable"}
    out = tmp_path / "report"
    (out).mkdir()
    (out / "memory.png").write_bytes(b"stale")  # from an earlier report in the same folder
    build_report(write(tmp_path, raw), out)
    text = (out / "report.md").read_text()
    head = text.split("## Summary")[0]
    assert "Partial results" in head and "interrupted" in head
    assert "Docker container was not measured (Docker engine not reachable)" in head
    assert "| **container** | *not measured: Docker engine not reachable* | |" in text
    assert_valid_png(out / "memory.png")  # redrawn from the backends that have memory


def test_run_with_injected_faults_says_so_at_the_top(tmp_path):
    raw = make_results()
    raw["isobench"]["injected"] = {"start_delay_ms": {"subprocess": 40.0}}
    out = tmp_path / "report"
    build_report(write(tmp_path, raw), out)
    head = (out / "report.md").read_text().split("## Summary")[0]
    assert "Test-only run" in head and "subprocess +40 ms" in head


def test_real_run_has_no_injected_banner(tmp_path):
    out = tmp_path / "report"
    build_report(write(tmp_path, make_results()), out)
    assert "Test-only run" not in (out / "report.md").read_text()


def test_report_without_any_measurement_still_builds(tmp_path):
    raw = make_results(status="interrupted")
    raw["benchmarks"] = []
    for status in raw["isobench"]["backends"].values():
        status.update(available=False, reason="not reached")
    out = tmp_path / "report"
    (out).mkdir()
    (out / "cold_start.png").write_bytes(b"stale")
    build_report(write(tmp_path, raw), out)
    text = (out / "report.md").read_text()
    assert "No V8 isolate was measured" in text and "![" not in text
    assert not (out / "cold_start.png").exists()  # a stale plot is not left beside a report that does not show it


def test_corrupt_results_file_exits_2_with_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = tmp_path / "report"
    result = harness("report", str(bad), "--out", str(out))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "corrupt JSON" in result.stderr
    assert not out.exists()
    good = write(tmp_path, make_results())
    result = harness("report", str(good), "--baseline", str(tmp_path / "missing.json"), "--out", str(out))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_baseline_adds_a_comparison_section(tmp_path):
    old = make_results()
    new = copy.deepcopy(old)
    for bench in new["benchmarks"]:
        if bench["name"] == "test_cold_start[container]":
            bench["stats"]["data"] = [v * 1.5 for v in bench["stats"]["data"]]
    out = tmp_path / "report"
    build_report(load(write(tmp_path, new, "new.json")), out, baseline=load(write(tmp_path, old, "old.json")))
    section = (out / "report.md").read_text().split("## Compared with the baseline")[1].split("\n## ")[0]
    if importlib.util.find_spec("harness.analysis.compare") is None:
        assert "comparison module" in section and "missing" in section
    else:
        row = next(line for line in section.splitlines() if line.startswith("| container | cold_start"))
        assert "**regression**" in row


def test_each_backend_keeps_its_colour():
    known = colour_map(["isolate", "subprocess", "container"])
    assert known == {name: FIXED[name] for name in known}
    names = ["isolate", "container", "future-a", "future-b", "future-c", "wasm", "workerd"]
    first = colour_map(names)
    assert colour_map(list(reversed(names))) == first  # deterministic, whatever the order
    assert len(set(first.values())) == len(names)  # distinct within a report
    assert first["isolate"] == known["isolate"]


def test_new_backends_with_long_names_get_plots_that_still_fit(tmp_path):
    raw = make_results()
    for name in ("container-gvisor", "a-future-backend-with-a-long-name"):
        for bench in [copy.deepcopy(b) for b in raw["benchmarks"] if b["extra_info"]["backend"] == "subprocess"]:
            bench["extra_info"]["backend"] = name
            raw["benchmarks"].append(bench)
        raw["isobench"]["backends"][name] = dict(raw["isobench"]["backends"]["subprocess"])
    out = tmp_path / "report"
    text = build_report(write(tmp_path, raw), out).read_text()
    assert "a-future-backend-with-a-long-name" in text.split("## Summary")[1]
    for name in CORE_PLOTS:
        assert_valid_png(out / name)
