"""Workloads and module workers: every workload answers the same on every
backend, the module form of hello answers as the handler form, a user's own
module worker runs with --worker, a missing Workers API is one clear line,
and a workload set round-trips through its file, `summary`, `compare` and
`report`."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from harness import cli
from harness.backends import REGISTRY, create_backend
from harness.backends.base import PhaseClock
from harness.report import build_report
from harness.results.model import WorkloadSet
from harness.results.store import load, load_set, save
from harness.runtime.worker import WorkerError, load_worker, parse_workloads, to_script, workload_file, workload_names

from .conftest import available_or_skip
from .test_cli import harness
from .synthetic import synthetic_run

ARGS = ("world", "Ada")
MODULE_HELLO = """export default {
  async fetch(request, env, ctx) {
    const name = new URL(request.url).searchParams.get("name");
    return new Response(env.sayHello(name));
  },
};
"""


def answers(backend_name: str, names: list[str]) -> dict[str, list[str]]:
    """Each workload's answers to ARGS on one fresh instance of the backend."""
    backend = create_backend(backend_name)
    available_or_skip(backend)
    found = {}
    try:
        for name in names:
            worker = load_worker(workload_file(name))
            backend.prepare(worker)
            instance = backend.start(worker, PhaseClock())
            try:
                found[name] = [instance.call(arg) for arg in ARGS]
            finally:
                instance.stop()
    finally:
        backend.close()
    return found


@pytest.fixture(scope="module")
def reference_answers():
    return answers("isolate", workload_names())


@pytest.mark.parametrize("backend_name", list(REGISTRY))
def test_every_workload_answers_the_same_on_every_backend(backend_name, reference_answers, no_leftover_processes):
    found = answers(backend_name, workload_names())
    assert found == reference_answers
    assert found["hello-module"] == found["hello"] == [f"Hello {arg}!" for arg in ARGS]


def test_the_workload_set_is_complete():
    assert workload_names()[:2] == ["hello", "hello-module"]
    assert {"router", "render", "compute", "size-10k", "size-100k", "size-1m", "size-5m"} <= set(workload_names())
    assert parse_workloads("all") == workload_names()
    with pytest.raises(WorkerError, match="unknown workload 'nope'"):
        parse_workloads("hello,nope")


@pytest.mark.parametrize("source, registered", [
    ("export default { fetch() { return new Response('x'); } };", "setModule(__isobench_default)"),
    ("const app = { fetch() {} };\nexport { app as default };", "setModule(app)"),
    ("export default {\n  fetch() {}\n};\nexport function handler(n) { return n; }", "setHandler(handler)"),
])
def test_module_export_forms(source, registered):
    script = to_script(source)
    assert "export" not in script
    assert registered in script


def test_a_default_export_without_fetch_is_refused_when_it_loads():
    from harness.backends.isolate import IsolateBackend
    from harness.backends.base import WorkerLoadError

    backend = IsolateBackend()
    try:
        worker = load_worker(workload_file("hello-module"))
        bad = replace(worker, bundle=worker.runtime_script + to_script("export default { get() {} };"))
        with pytest.raises(WorkerLoadError, match="fetch"):
            backend.start(bad, PhaseClock())
    finally:
        backend.close()


def test_a_users_module_worker_runs_with_worker(tmp_path):
    worker = tmp_path / "mine.js"
    worker.write_text(MODULE_HELLO)
    out = tmp_path / "results"
    result = harness("run", "--worker", str(worker), "--backends", "isolate,subprocess", "--profile", "smoke",
                      "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    run = load(out / "latest.json")
    assert run.worker.form == "module" and run.workload == "custom"
    assert set(run.backends["isolate"].cold_start.answers) == {"Hello World!"}


def test_a_missing_workers_api_is_one_clear_line_and_nothing_is_written(tmp_path):
    worker = tmp_path / "cached.js"
    worker.write_text("export default {\n  async fetch(request) {\n"
                      "    const hit = await caches.default.match(request);\n"
                      "    return hit || new Response('miss');\n  },\n};\n")
    out = tmp_path / "results"
    result = harness("run", "--worker", str(worker), "--backends", "isolate", "--profile", "smoke", "--out", str(out))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "`caches`" in lines[0] and "docs/workers-api.md" in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_an_outbound_fetch_names_what_is_missing(tmp_path):
    worker = tmp_path / "proxy.js"
    worker.write_text("export default { fetch(request) { return fetch('https://example.com/'); } };\n")
    result = harness("run", "--worker", str(worker), "--backends", "isolate", "--profile", "smoke",
                      "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "fetch() (an outbound request) is not provided by the isobench runtime" in result.stderr


def test_worker_and_workload_together_are_bad_input(tmp_path, capsys):
    code = cli.main(["run", "--worker", "workloads/hello/worker.js", "--workload", "hello", "--out", str(tmp_path)])
    assert code == 2
    assert "not both" in capsys.readouterr().err


def _workload_set() -> WorkloadSet:
    """Synthetic runs posing as hello and the four sweep sizes."""
    sizes = {"hello": 191, "size-10k": 8_713, "size-100k": 93_311, "size-1m": 905_376, "size-5m": 4_715_488}
    runs = []
    for seed, (name, size) in enumerate(sizes.items(), 1):
        slower = {(b, "cold_start"): 1 + size / 1e6 * (3 if b == "isolate" else 1) for b in ("isolate", "subprocess",
                                                                                          "container")}
        run = synthetic_run(seed, trials=3, slower=slower)
        runs.append(replace(run, worker=replace(run.worker, workload=name, bytes=size,
                                                form="handler" if name == "hello" else "module")))
    return WorkloadSet.of(runs)


def test_a_workload_set_round_trips_through_its_file(tmp_path):
    workloads = _workload_set()
    path = save(workloads, tmp_path / "set.json")
    again = load_set(path)
    assert again.names == workloads.names
    for name in workloads.names:
        assert replace(again.runs[name], path=None) == replace(workloads.runs[name], path=None)
    assert load(path).workload == "hello"  # a plain reader gets the primary run
    raw = json.loads(path.read_text())
    assert raw["isobench"]["schema"] == "isobench-workloads/1"
    assert {b["extra_info"]["workload"] for b in raw["benchmarks"]} == set(workloads.names)


def test_summary_and_compare_go_workload_by_workload(tmp_path, capsys):
    path = save(_workload_set(), tmp_path / "set.json")
    assert cli.main(["summary", str(path)]) == 0
    text = capsys.readouterr().out
    assert text.count("# workload: ") == 5
    assert cli.main(["compare", str(path), str(path)]) == 0
    text = capsys.readouterr().out
    assert text.count("# workload: ") == 5 and "regression" in text


def test_the_report_plots_cold_start_against_bundle_size(tmp_path):
    workloads = _workload_set()
    path = build_report(workloads.primary, tmp_path, workloads=workloads)
    text = path.read_text()
    assert "## Beyond hello: workloads" in text
    assert (tmp_path / "workloads_sweep.png").exists() and "workloads_sweep.png" in text
    assert "As the worker grows from 8.71 KB to 4.72 MB of bundled code" in text.split("\n## ")[0]
    for name in ("size-10k", "size-100k", "size-1m", "size-5m"):
        assert name in text


def test_run_with_several_workloads_keeps_them_in_one_file(tmp_path):
    out = tmp_path / "results"
    result = harness("run", "--workload", "hello,hello-module", "--backends", "isolate", "--profile", "smoke",
                      "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    files = sorted(path.name for path in out.iterdir())
    sets = [name for name in files if name.endswith("-smoke-workloads.json")]
    assert len(sets) == 1 and files == sorted([sets[0], "latest.json"]), files
    workloads = load_set(out / sets[0])
    assert workloads.names == ("hello", "hello-module")
    assert [run.worker.form for run in workloads.runs.values()] == ["handler", "module"]
    for run in workloads.runs.values():
        assert set(run.backends["isolate"].cold_start.answers) == {"Hello World!"}
    assert "workload 2/2: hello-module" in result.stderr


FRESH_ID = "export default {\n  async fetch(request) {\n    return new Response(crypto.randomUUID());\n  },\n};\n"


def test_a_worker_answering_a_fresh_id_is_measured_where_its_api_is_and_named_once_elsewhere(tmp_path):
    worker = tmp_path / "uuid.js"
    worker.write_text(FRESH_ID)
    out = tmp_path / "results"
    result = harness("run", "--worker", str(worker), "--backends", "isolate,subprocess", "--profile", "smoke",
                     "--suites", "cold_start,warm_call", "--out", str(out))
    assert result.returncode == 3, result.stderr[-2000:]  # EXIT_SKIPPED: a backend unavailable, the others ran
    named = [line for line in result.stderr.splitlines() if "which isolate lack" in line]
    assert len(named) == 1 and "`crypto`" in named[0] and "(subprocess)" in named[0], result.stderr
    run = load(out / "latest.json")
    isolate, node = run.backends["isolate"], run.backends["subprocess"]
    assert not isolate.info.available and "`crypto`" in isolate.info.reason and "by: subprocess" in isolate.info.reason
    assert node.info.available and not node.info.failures, node.info.failures
    answers = node.cold_start.answers
    assert len(set(answers)) == len(answers) > 1, "every start answers a fresh id"
    assert node.warm_call is not None and node.warm_call.values, "warm calls measured"


def test_a_global_no_requested_backend_provides_is_one_clear_line(tmp_path):
    worker = tmp_path / "uuid.js"
    worker.write_text(FRESH_ID)
    out = tmp_path / "results"
    result = harness("run", "--worker", str(worker), "--backends", "isolate,wasm", "--profile", "smoke",
                     "--out", str(out))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "`crypto`" in lines[0] and "none of the requested backends" in lines[0], lines
    assert not out.exists() or not any(out.iterdir())


def test_a_guarded_reference_excludes_nothing(tmp_path):
    from harness.measure.options import RunOptions
    from harness.measure.preflight import api_exclusions

    worker = tmp_path / "guarded.js"
    worker.write_text("export function handler(name) {\n"
                      "  const id = typeof crypto !== 'undefined' ? 'c' : 'm';\n"
                      "  return sayHello(name) + id;\n}\n")
    said = []
    options = RunOptions(backends=("isolate", "subprocess"), profile="smoke", worker=str(worker))
    assert api_exclusions(options, report=lambda *a, **k: said.append(a)).lacking_api == {}
    assert said == []


@pytest.mark.parametrize("source, found", [
    ("export function handler(n) { return crypto.randomUUID(); }", {"crypto"}),
    ("export function handler(n) { return typeof process === 'undefined' ? n : process.pid; }", {"process"}),
    ("export function handler(n) { return typeof process === 'undefined' ? n : 'x'; }", set()),
    ("// setTimeout(f)\nexport function handler(n) { return 'Buffer' + n.crypto + ({self: 1}).self; }", set()),
])
def test_referenced_globals_skips_comments_strings_properties_keys_and_guards(source, found):
    from harness.runtime.api_surface import referenced_globals

    assert referenced_globals(source) == found


@pytest.mark.parametrize("manifest, message", [
    ({"deterministic": "yes"}, "`deterministic` must be true or false"),
    ({"answer_pattern": 3}, "`answer_pattern` must be a string"),
    ({"answer_pattern": "("}, "`answer_pattern` is not a regular expression"),
])
def test_a_bad_answer_rule_is_one_line(tmp_path, manifest, message):
    (tmp_path / "worker.js").write_text("export function handler(n) { return n; }\n")
    (tmp_path / "workload.json").write_text(json.dumps(manifest))
    with pytest.raises(WorkerError, match=message):
        load_worker(tmp_path / "worker.js")
