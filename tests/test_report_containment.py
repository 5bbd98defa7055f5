"""The report's isolation matrix (`report --containment FILE`): rendered from
a containment results file, and a bad one is bad input."""

import subprocess
import sys

from harness.containment.record import save
from harness.containment.verdict import judge
from harness.paths import REPO_ROOT
from harness.report import build_report

from .synthetic import TYPICAL, results_dict, write

MIB = 1 << 20


def run_results(path):
    timings = {key: [median * (1 + i / 100) for i in range(20)] for key, median in TYPICAL.items()}
    return write(path, results_dict(timings))


def containment_record():
    def pair(backend, workload, survived, outcome, exit_="exit 0", death_ms=None):
        run = {"host": {"survived": survived, "exit": exit_, "killed_by": None, "death_ms": death_ms,
                        "call_growth_bytes": 0, "memory_limit_bytes": 1024 * MIB},
               "outcome": outcome, "next": {"ok": True, "answer": "Hello World!"},
               "instance_memory_limit_bytes": 128 * MIB}
        return {"backend": backend, "workload": workload, **judge(workload, run), **run}

    timeout = {"kind": "error", "error_type": "CallTimeout", "typed": True, "message": "", "detect_ms": 2001.0,
               "stop_ms": 2004.0}
    return {
        "schema": "isobench-containment/1", "status": "complete", "run_id": "contain-test",
        "started": "2026-01-01T00:00:00+00:00", "workloads": ["spin", "crash"],
        "limits": {"call_timeout_s": 2.0, "memory_bytes": 128 * MIB, "max_pids": 64, "cpus": 1.0},
        "backends": {"isolate": {"available": True, "instance_class": "in-process"},
                     "container": {"available": True, "instance_class": "container"}},
        "pairs": [pair("isolate", "spin", True, timeout),
                  pair("isolate", "crash", False, None, "SIGTRAP", 13000.0),
                  pair("container", "spin", True, timeout),
                  pair("container", "crash", True, {**timeout, "error_type": "InstanceCrashed", "stop_ms": 97.0})],
    }


def test_report_gets_the_isolation_matrix(tmp_path):
    results = run_results(tmp_path / "run.json")
    containment = save(containment_record(), tmp_path, "20260101-000000")
    report = build_report(results, tmp_path / "out", containment=containment).read_text()
    section = report[report.index("## Containment: hostile workers"):]
    assert "| worker | isolate | container |" in section
    assert "| spin | contained: CallTimeout, stopped in 2004 ms | contained: CallTimeout, stopped in 2004 ms |" in section
    assert "| crash | **NOT contained**: host died (SIGTRAP) after 13000 ms | contained: InstanceCrashed" in section
    assert "**isolate** contained 1 of 2" in section and "inside the harness's own process" in section
    assert "2.0 s per call, 128 MiB per instance" in section


def test_report_with_a_bad_containment_file_is_bad_input(tmp_path):
    results = run_results(tmp_path / "run.json")
    foreign = run_results(tmp_path / "foreign.json")  # a run's results, not containment
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "harness", "report", str(results), "--containment", str(foreign),
                             "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "not a containment results file" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
