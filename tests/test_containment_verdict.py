"""The containment verdicts, the matrix rendering and the results file, on
recorded runs (no engine): the judgement follows what happened, never the
backend's name, and what a worker claims is checked against the truth."""

import json
from dataclasses import replace

import pytest

from harness.backends.base import Limits
from harness.containment.record import BackendStatus, ContainmentRecord, PairResult, PairRun, load, save
from harness.containment.render import matrix_markdown, reading, to_markdown
from harness.containment.verdict import escape_obtained, judge
from harness.results.store import ResultsError

MIB = 1 << 20
TRUTH = {"secret": "s3cret", "hostname": "host\n", "canary": "c4nary", "loopback_received": False}


def run(survived=True, outcome=None, next_ok=True, **host):
    return PairRun.from_json({
        "host": {"survived": survived, "exit": "exit 0" if survived else host.pop("exit", "SIGABRT"),
                 "killed_by": None, "death_ms": None, "call_growth_bytes": 0, "memory_limit_bytes": 1024 * MIB,
                 **host},
        "outcome": outcome, "next": {"ok": next_ok, "answer": "Hello World!"},
        "instance_memory_limit_bytes": 128 * MIB,
    })


def error(kind, typed=True):
    return {"kind": "error", "error_type": kind, "typed": typed, "message": "", "detect_ms": 2000.0,
            "stop_ms": 2010.0}


def escape(secret=None, canary=None):
    answer = {"files": {"secret": {"ok": secret is not None, "value": secret},
                        "hostname": {"ok": True, "value": "container-id\n"}},
              "env": {"parent": {"canary": canary}}, "routes": ["process.getBuiltinModule"]}
    return {"kind": "answer", "answer": json.dumps(answer)}


def test_typed_stop_with_a_working_next_instance_is_contained():
    verdict = judge("spin", run(outcome=error("CallTimeout")))
    assert verdict.contained is True and "CallTimeout" in verdict.why


@pytest.mark.parametrize("host", [
    {"exit": "SIGTRAP", "death_ms": 900.0},
    {"exit": "SIGKILL", "killed_by": "host-memory-safety"},
    {"exit": "SIGKILL", "killed_by": "pair-deadline"},
])
def test_a_host_that_did_not_survive_is_never_contained(host):
    verdict = judge("crash", run(survived=False, outcome=error("InstanceCrashed"), **host))
    assert verdict.contained is False


def test_a_failing_next_instance_is_not_contained():
    assert judge("crash", run(outcome=error("InstanceCrashed"), next_ok=False)).contained is False


def test_memory_growth_past_the_limit_is_not_contained_even_when_stopped():
    verdict = judge("heap-bomb", run(outcome=error("CallTimeout"), call_growth_bytes=900 * MIB))
    assert verdict.contained is False and "did not hold" in verdict.why
    assert judge("heap-bomb", run(outcome=error("MemoryLimitExceeded"), call_growth_bytes=100 * MIB)).contained


def test_escape_claims_are_checked_against_the_truth():
    assert escape_obtained(json.loads(escape(secret="not the secret")["answer"]), TRUTH).host_secret_file is False
    assert escape_obtained(json.loads(escape(secret="s3cret")["answer"]), TRUTH).host_secret_file is True
    assert judge("escape", run(outcome=escape()), TRUTH).contained is True
    got = judge("escape", run(outcome=escape(canary="c4nary")), TRUTH)
    assert got.contained is False and got.obtained.host_environment is True
    assert judge("escape", run(outcome=escape()), {**TRUTH, "loopback_received": True}).contained is False


def test_neighbour_only_counts_the_victims_own_token():
    token = "isobench-nbr-" + "a" * 32
    outcome = {"kind": "answer", "token": token, "plant": {"file": "/tmp/x"},
               "probe": {"found": [{"token": "isobench-nbr-" + "b" * 32, "via": "file /tmp/old"}]},
               "check": {"global": token, "file_content": token}}
    assert judge("neighbour", run(outcome=outcome)).contained is True
    outcome["check"]["file_content"] = "overwritten by 42"
    verdict = judge("neighbour", run(outcome=outcome))
    assert verdict.contained is False and list(verdict.obtained.modified) == ["its file"]


def test_unavailable_pair_is_not_judged():
    verdict = judge("spin", replace(run(), unavailable="no engine"))
    assert verdict.contained is None and "no engine" in verdict.why


def record(pairs, backends=None, workloads=("spin", "crash")):
    return ContainmentRecord(
        run_id="contain-test", started="2026-01-01T00:00:00+00:00", status="complete", workloads=list(workloads),
        limits=Limits(call_timeout_s=2.0, memory_bytes=128 * MIB, max_pids=64, cpus=1.0), host_safety_bytes=1024 * MIB,
        backends=backends or {"a": BackendStatus(True, instance_class="in-process"),
                              "b": BackendStatus(False, "no engine here")},
        pairs=pairs)


def pair(backend, workload, **verdict):
    return PairResult(backend, workload, judge(workload, run(**verdict)), run(**verdict))


def test_matrix_has_a_row_per_workload_and_a_column_per_backend():
    text = matrix_markdown(record([
        pair("a", "spin", outcome=error("CallTimeout")),
        pair("a", "crash", survived=False, outcome=None, exit="SIGTRAP", death_ms=1200.0),
    ]))
    lines = text.splitlines()
    assert lines[0] == "| worker | a | b |"
    assert lines[2].startswith("| spin | contained: CallTimeout, stopped in 2010 ms | skipped |")
    assert "**NOT contained**: host died (SIGTRAP) after 1200 ms" in lines[3]
    assert "- b: no engine here" in text


def test_reading_is_generated_from_the_pairs():
    data = record([pair("a", "spin", outcome=error("CallTimeout")),
                   pair("a", "crash", survived=False, outcome=None, exit="SIGTRAP", death_ms=1.0)])
    sentences = reading(data)
    assert len(sentences) == 1
    assert "contained 1 of 2" in sentences[0] and "not crash" in sentences[0]
    assert "inside the harness's own process" in sentences[0]  # in-process and its host died
    assert "Status: complete" in to_markdown(data)


def test_results_file_round_trip_and_atomic_pair(tmp_path):
    data = record([pair("a", "spin", outcome=error("CallTimeout"))])
    path = save(data, tmp_path, "20260101-000000")
    assert path.name == "containment-20260101-000000.json"
    assert load(path) == load(tmp_path / "containment-latest.json") == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["containment-20260101-000000.json",
                                                          "containment-latest.json"]


@pytest.mark.parametrize("content, message", [
    ("{oops", "corrupt JSON"),
    ('{"benchmarks": []}', "not a containment results file"),
    ('{"schema": "isobench-containment/1", "pairs": {}, "backends": {}}', "without 'pairs'"),
    ('{"schema": "isobench-containment/1", "pairs": [{}], "backends": {}}', "pair #0"),
])
def test_bad_results_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(ResultsError, match=message) as caught:
        load(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(ResultsError, match="not found"):
        load(tmp_path / "missing.json")


def test_a_failed_escape_is_contained_and_says_so():
    result = pair("a", "escape", outcome=error("InstanceCrashed"))
    assert result.contained is True
    text = matrix_markdown(record([result], {"a": BackendStatus(True)}, workloads=["escape"]))
    assert "| escape | contained: the worker's instance failed (InstanceCrashed), nothing obtained |" in text


def test_the_committed_matrix_is_read_and_written_back_byte_for_byte():
    """The typed records hold every field of a real containment file: read and
    saved again, the committed reference's matrix is the same file."""
    from harness.paths import REPO_ROOT

    [path] = sorted((REPO_ROOT / "results" / "reference").glob("containment-2*.json"))
    record = load(path)
    assert len(record.pairs) == len(record.backends) * len(record.workloads)
    assert json.dumps(record.to_json(), indent=2) + "\n" == path.read_text()
    assert all(isinstance(p.host.survived, bool) for p in record.pairs)
