"""export: github-action-benchmark customSmallerIsBetter and Bencher BMF shapes,
and isobench's own small history file."""

import json

import pytest

from harness import cli
from harness.exporters import export

from .synthetic import save_run, synthetic_run


@pytest.fixture
def results():
    return synthetic_run(1)


def test_github_action_benchmark_shape(results):
    entries = export(results, "github-action-benchmark")
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert set(entry) <= {"name", "unit", "value", "range", "extra"}
        assert isinstance(entry["name"], str) and isinstance(entry["unit"], str)
        assert isinstance(entry["value"], float)
    by_name = {e["name"]: e for e in entries}
    cold = by_name["isobench cold_start/container"]
    assert cold["unit"] == "ms" and 250 < cold["value"] < 450 and cold["range"].startswith("± ")
    assert by_name["isobench memory_pss/container"]["unit"] == "MiB"
    assert by_name["isobench cold_start_ratio/container/isolate"]["unit"] == "x"
    assert len(by_name) == len(entries)  # names are unique


def test_bencher_bmf_shape(results):
    bmf = export(results, "bencher")
    assert isinstance(bmf, dict) and bmf
    for benchmark, measures in bmf.items():
        assert isinstance(benchmark, str) and measures
        for measure, metric in measures.items():
            assert "value" in metric and set(metric) <= {"value", "lower_value", "upper_value"}
            if "lower_value" in metric:
                assert metric["lower_value"] <= metric["value"] <= metric["upper_value"]
    latency = bmf["isobench/cold_start/container"]["latency"]
    assert 250e6 < latency["value"] < 450e6  # nanoseconds
    assert "memory-per-instance-mib" in bmf["isobench/memory_pss/container"]
    assert "ratio" in bmf["isobench/cold_start_ratio/container/isolate"]


def test_export_command(tmp_path, capsys):
    path = save_run(synthetic_run(1), tmp_path / "r.json")
    assert cli.main(["export", "--format", "bencher", str(path)]) == 0
    assert "isobench/cold_start/isolate" in json.loads(capsys.readouterr().out)
    out = tmp_path / "gab.json"
    assert cli.main(["export", "--format", "github-action-benchmark", str(path), "--out", str(out)]) == 0
    assert isinstance(json.loads(out.read_text()), list)


def test_export_refuses_injected_runs_and_bad_input(tmp_path, capsys):
    fake = save_run(synthetic_run(1, injected={"container": 100.0}), tmp_path / "f.json")
    assert cli.main(["export", "--format", "bencher", str(fake)]) == 2
    assert "injected" in capsys.readouterr().err
    assert cli.main(["export", "--format", "bencher", str(tmp_path / "missing.json")]) == 2


def test_key_figures_file_is_small_and_history_reads_it(tmp_path, capsys):
    path = save_run(synthetic_run(1), tmp_path / "r.json")
    out = tmp_path / "history" / "r.json"
    assert cli.main(["export", "--format", "key-figures", str(path), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["schema"] == "isobench-key-figures/1" and out.stat().st_size < 20_000
    cold = next(f for f in record["figures"] if f["name"] == "cold_start/container")
    assert cold["ci95"][0] <= cold["value"] <= cold["ci95"][1] and cold["trials"] == 3


def test_pytest_benchmark_compare_reads_two_runs(tmp_path):
    """The real `pytest-benchmark compare`, on two runs' files in its storage layout."""
    import subprocess
    import sys

    machine = tmp_path / "storage" / "Linux-CPython-3.11-64bit"
    machine.mkdir(parents=True)
    save_run(synthetic_run(1), machine / "0001_a_20260101_000000.json")
    save_run(synthetic_run(2, slower={("container", "cold_start"): 1.3}), machine / "0002_b_20260102_000000.json")
    found = subprocess.run([sys.executable, "-c", "from pytest_benchmark.cli import main; main()",
                            "--storage", f"file://{tmp_path / 'storage'}", "compare", "0001", "0002",
                            "--group-by", "group", "--columns", "min,median,max,rounds,iterations"],
                           capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr[-2000:]
    table = found.stdout
    assert "test_cold_start[container]" in table and "test_cold_start[isolate]" in table
    assert "(0001_a" in table and "(0002_b" in table  # one row per run
    assert "Iterations" in table and "Rounds" in table
