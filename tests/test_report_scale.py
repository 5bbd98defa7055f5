"""The report's density and concurrency plots and section, from a small
synthetic results file (raw sweeps in the shape the bench suites record)."""

import pytest

from harness.measure.metadata import SCHEMA
from harness.results.store import parse

MIB = 1 << 20


def density_extra(name, klass, kind, per_instance_mib, counts, stopped=None):
    steps = [{"n": n, "read_s": 0.1, "total_bytes": {kind: per_instance_mib * MIB * n + 3 * MIB}} for n in counts]
    return {"metric": "density", "backend": name, "density": {
        "instance_class": klass, "ladder": list(counts), "budget_s": 60.0, "steps": steps,
        "max_n_reached": counts[-1], "stopped_because": stopped or "ladder complete", "stopped_early": bool(stopped),
        "growth_s": 12.0, "teardown_s": 1.0}}


def concurrency_extra(name, modes):
    def level(k, latency_ns):
        return {"callers": k, "latencies_ns": [latency_ns * k] * 50, "calls_per_caller": [50 // k] * k,
                "window_s": 0.01, "error": None}

    return {"metric": "concurrency", "backend": name, "primary_mode": modes[0], "concurrency": {
        mode: {"mode": mode, "question": f"question for {mode}", "callers_are": "threads of the harness process",
               "levels": [level(k, 100_000 if mode == "per-caller" else 300_000) for k in (1, 2, 8)],
               "cores": 2, "note": "2 cores here: with 8 callers ... queueing", "error": None}
        for mode in modes}}


def results(with_scale=True):
    extras = [density_extra("isolate", "in-process", "uss", 0.7, [1, 10, 100, 1000], stopped="time budget: 60 s"),
              density_extra("subprocess", "process", "pss", 6.0, [1, 10, 50]),
              concurrency_extra("isolate", ["per-caller", "shared"]), concurrency_extra("subprocess", ["per-caller"])]
    benchmarks = [{"name": f"test_{e['metric']}[{e['backend']}]", "group": e["metric"], "extra_info": e,
                   "stats": {"data": [1.0]}} for e in (extras if with_scale else [])]
    benchmarks.append({"name": "test_cold_start[isolate]", "group": "cold_start",
                       "extra_info": {"metric": "cold_start", "backend": "isolate"}, "stats": {"data": [0.004] * 5}})
    return parse({"benchmarks": benchmarks, "machine_info": {"isobench": {"cpu_count": 2}},
                  "isobench": {"schema": SCHEMA, "status": "complete", "profile": {"name": "quick"},
                               "backends": {n: {"available": True} for n in ("isolate", "subprocess")}}})


@pytest.fixture
def data():
    from harness.report.data import report_data

    return report_data(results())


def test_plots_are_written(data, tmp_path):
    from harness.report import scale

    assert scale.density(data, tmp_path) == "density.png"
    assert scale.concurrency(data, tmp_path) == "concurrency.png"
    for name in ("density.png", "concurrency.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_section_has_a_row_per_backend_and_mode(data):
    from harness.report import scale

    text = "\n".join(scale.section(data, {"density": "density.png", "concurrency": "concurrency.png"}))
    assert "![Memory against N" in text and "![Throughput" in text
    assert "| isolate | uss | 1,463 | 0.7 | 1000 | time budget: 60 s |" in text
    assert "| subprocess | pss | 171 | 6.00 | 50 | ladder complete |" in text
    assert "| isolate | per-caller | 5,000 · 100 | 5,000 · 200 | 5,000 · 800 |" in text
    assert "| isolate | shared | 5,000 · 300 |" in text
    assert "| subprocess | shared |" not in text
    assert "queueing" in text and "question for per-caller" in text


def test_nothing_to_draw_without_the_suites(tmp_path):
    from harness.report import scale
    from harness.report.data import report_data

    empty = report_data(results(with_scale=False))
    assert scale.density(empty, tmp_path) is None
    assert scale.concurrency(empty, tmp_path) is None
    assert scale.section(empty, {}) == []
    assert list(tmp_path.iterdir()) == []
