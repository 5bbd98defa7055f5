"""export: github-action-benchmark customSmallerIsBetter and Bencher BMF shapes."""

import json

import pytest

from harness import cli
from harness.exporters import export
from harness.results.store import parse

from .synthetic import synthetic_run, write


@pytest.fixture
def results():
    return parse(synthetic_run(1))


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
    path = write(tmp_path / "r.json", synthetic_run(1))
    assert cli.main(["export", "--format", "bencher", str(path)]) == 0
    assert "isobench/cold_start/isolate" in json.loads(capsys.readouterr().out)
    out = tmp_path / "gab.json"
    assert cli.main(["export", "--format", "github-action-benchmark", str(path), "--out", str(out)]) == 0
    assert isinstance(json.loads(out.read_text()), list)


def test_export_refuses_injected_runs_and_bad_input(tmp_path, capsys):
    fake = write(tmp_path / "f.json", synthetic_run(1, injected={"start_delay_ms": {"container": 100.0}}))
    assert cli.main(["export", "--format", "bencher", str(fake)]) == 2
    assert "injected" in capsys.readouterr().err
    assert cli.main(["export", "--format", "bencher", str(tmp_path / "missing.json")]) == 2
