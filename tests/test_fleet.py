"""The fleet's order of work without Ray (harness/fleet/orchestrate.py, with
a fake cluster): one job per node, the nodes of one machine one after the
other, results written home with a manifest, a lost node recorded with its
cause while the others are kept, and a resume that measures only what is
missing. The same run through Ray: tests/test_fleet_ray.py."""

import gzip
import json

import pytest

from harness.fleet.manifest import FAILED, LOST, MEASURED, FleetManifest, FleetNode, NodeFacts, is_fleet, load_manifest
from harness.fleet.orchestrate import run_fleet
from harness.fleet.ray_cluster import ClusterNode, NodeLost
from harness.results.schema import ResultsError
from harness.results.store import load

from .synthetic import save_run, synthetic_run


class FakeCluster:
    """Nodes with given facts; each job answers at once with a synthetic results file, or dies."""

    def __init__(self, tmp_path, nodes, lose=(), fail=()):
        self.tmp, self.lose, self.fail = tmp_path, set(lose), set(fail)
        self._nodes = [ClusterNode(node_id=f"id-{label}", address="10.0.0.1", cpus=2, label=label)
                       for label, _ in nodes]
        self._facts = {f"id-{label}": NodeFacts(hostname=f"host-{label}", boot_id=boot, cpus=2)
                       for label, boot in nodes}
        self.started, self.running, self.cancelled = [], [], []

    def nodes(self):
        return list(self._nodes)

    def probe(self, nodes):
        return {node.node_id: self._facts[node.node_id] for node in nodes}

    def start(self, node, run_args, setup, commit):
        assert all(self._facts[other.node_id].boot_id != self._facts[node.node_id].boot_id
                   for other in self.running), "two jobs at once on one machine"
        self.started.append((node.label, tuple(run_args), setup, commit))
        self.running.append(node)
        return node

    def wait(self, jobs, timeout_s):
        return jobs[:1]

    def result(self, job):
        self.running.remove(job)
        if job.label in self.lose:
            raise NodeLost("NodeDiedError: the node running this task died")
        facts = self._facts[job.node_id].to_json()
        if job.label in self.fail:
            return {"facts": facts, "exit_code": 2, "results_gz": None, "log_tail": "isobench: no backend can run"}
        path = self.tmp / f"run-{job.label}.json"
        save_run(synthetic_run(len(self.started), backends=("isolate", "subprocess")), path)
        return {"facts": facts, "exit_code": 0, "results_gz": gzip.compress(path.read_bytes()), "log_tail": ""}

    def cancel(self, job):
        self.cancelled.append(job)


def manifest(**kw):
    return FleetManifest(fleet_id="f1", commit="c" * 40, dirty=False, address="auto",
                         run_args=("--profile", "smoke"), started="2026-12-04T00:00:00+00:00", **kw)


def test_every_node_is_measured_once_and_one_machine_one_job_at_a_time(tmp_path):
    cluster = FakeCluster(tmp_path, [("a", "boot-1"), ("b", "boot-1"), ("c", "boot-2")])
    lines = []
    found = run_fleet(cluster, manifest(), tmp_path / "fleet", setup=True, say=lines.append)
    assert [n.status for n in found.nodes] == [MEASURED] * 3
    assert sorted(label for label, *_ in cluster.started) == ["a", "b", "c"]
    assert {s[1:] for s in cluster.started} == {(("--profile", "smoke"), True, "c" * 40)}
    assert found.node("b").after == "a" and not found.node("a").after and not found.node("c").after
    for node in found.nodes:
        assert load(tmp_path / "fleet" / node.results).backends  # a results file that loads
    assert load_manifest(tmp_path / "fleet") == found and is_fleet(tmp_path / "fleet")
    assert any("b started (after a: the same machine)" in line for line in lines)
    assert lines[-1].endswith("[3/3 done]")


def test_a_lost_node_is_recorded_with_its_cause_and_the_others_are_kept(tmp_path):
    cluster = FakeCluster(tmp_path, [("a", "boot-1"), ("b", "boot-2"), ("c", "boot-3")], lose={"b"}, fail={"c"})
    found = run_fleet(cluster, manifest(), tmp_path / "fleet", setup=False, say=lambda line: None)
    assert found.node("a").status == MEASURED
    assert found.node("b").status == LOST and "NodeDiedError" in found.node("b").cause
    assert found.node("c").status == FAILED and "no backend can run" in found.node("c").cause
    assert [n.name for n in found.missing] == ["b", "c"]
    assert sorted(p.name for p in (tmp_path / "fleet").iterdir()) == ["a.json.gz", "manifest.json"]


def test_resume_measures_only_the_nodes_that_are_missing(tmp_path):
    folder = tmp_path / "fleet"
    first = run_fleet(FakeCluster(tmp_path, [("a", "1"), ("b", "2")], lose={"b"}), manifest(), folder,
                      setup=False, say=lambda line: None)
    again = FakeCluster(tmp_path, [("a", "1"), ("b", "2")])
    found = run_fleet(again, load_manifest(folder), folder, setup=False, say=lambda line: None)
    assert [label for label, *_ in again.started] == ["b"]
    assert [n.status for n in found.nodes] == [MEASURED, MEASURED]
    assert found.node("a") == first.node("a")  # kept as it was


def test_a_results_file_that_does_not_load_is_a_failed_node_not_a_measured_one(tmp_path):
    class Corrupt(FakeCluster):
        def result(self, job):
            answer = super().result(job)
            return {**answer, "results_gz": gzip.compress(b"{not json")}

    found = run_fleet(Corrupt(tmp_path, [("a", "1")]), manifest(), tmp_path / "fleet", setup=False,
                      say=lambda line: None)
    assert found.node("a").status == FAILED and "unusable" in found.node("a").cause


def test_ctrl_c_cancels_the_running_jobs_and_keeps_the_manifest(tmp_path):
    class Interrupted(FakeCluster):
        def wait(self, jobs, timeout_s):
            raise KeyboardInterrupt

    cluster = Interrupted(tmp_path, [("a", "1"), ("b", "2")])
    with pytest.raises(KeyboardInterrupt):
        run_fleet(cluster, manifest(), tmp_path / "fleet", setup=False, say=lambda line: None)
    saved = load_manifest(tmp_path / "fleet")
    assert [n.status for n in saved.nodes] == ["interrupted", "interrupted"] and len(cluster.cancelled) == 2


def test_a_corrupt_or_foreign_manifest_is_one_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(ResultsError, match="corrupt JSON"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ResultsError, match="not an isobench fleet manifest"):
        load_manifest(tmp_path)
    with pytest.raises(ValueError, match="no results file"):
        FleetNode(name="a", ray_node_id="x", facts=NodeFacts("h", "b", 1), status=MEASURED)


def test_fleet_without_ray_is_one_line_and_exit_2(monkeypatch, capsys):
    import builtins

    from harness import cli

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    code = cli.main(["fleet", "--address", "auto", "--profile", "smoke", "--backends", "isolate"])
    assert code == 2
    assert "the fleet needs Ray, which is not installed" in capsys.readouterr().err


def test_bad_run_options_stop_before_the_cluster_is_joined(capsys):
    from harness import cli

    code = cli.main(["fleet", "--address", "auto", "--profile", "nonsense"])
    assert code == 2 and "nonsense" in capsys.readouterr().err


def test_a_node_that_does_not_answer_the_probe_is_recorded_as_lost(tmp_path):
    class Silent(FakeCluster):
        def probe(self, nodes):
            found = super().probe(nodes)
            return {**found, "id-b": "GetTimeoutError: the probe timed out"}

    found = run_fleet(Silent(tmp_path, [("a", "1"), ("b", "2")]), manifest(), tmp_path / "fleet", setup=False,
                      say=lambda line: None)
    assert found.node("a").status == MEASURED
    assert found.node("b").status == LOST and "did not answer the probe" in found.node("b").cause


def test_history_and_the_exporters_read_a_fleet_keyed_by_machine(tmp_path, capsys):
    from harness import cli
    from harness.findings.history import build_history, find_runs

    folder = tmp_path / "fleet"
    run_fleet(FakeCluster(tmp_path, [("a", "1"), ("b", "2")]), manifest(), folder, setup=False, say=lambda line: None)
    points, skipped = find_runs(folder)
    assert sorted(p.machine for p in points) == ["a", "b"] and not skipped  # the manifest is not a run
    series = build_history(points).series
    assert {"cold_start/isolate @ a", "cold_start/isolate @ b"} <= set(series)
    assert series["cold_start/isolate @ a"].backend == "isolate @ a"

    assert cli.main(["export", str(folder), "--format", "bencher"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert {"isobench/a/cold_start/isolate", "isobench/b/cold_start/isolate"} <= set(exported)
    assert cli.main(["export", str(folder), "--format", "github-action-benchmark"]) == 0
    names = {entry["name"] for entry in json.loads(capsys.readouterr().out)}
    assert "isobench a/cold_start/isolate" in names and "isobench b/cold_start/isolate" in names
    assert cli.main(["export", str(folder), "--format", "key-figures"]) == 2
    assert "key-figures holds one run" in capsys.readouterr().err


def test_a_killed_jobs_output_folder_is_removed_once_no_process_names_it(tmp_path):
    import subprocess
    import sys

    from harness.fleet.node import remove_stale_outputs

    stale, busy, other = (tmp_path / "isobench-fleet-a"), (tmp_path / "isobench-fleet-b"), (tmp_path / "mine")
    for folder in (stale, busy, other):
        folder.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", str(busy)])
    try:
        assert remove_stale_outputs(str(tmp_path)) == [stale]
        assert not stale.exists() and busy.exists() and other.exists()
    finally:
        holder.kill()
        holder.wait()
