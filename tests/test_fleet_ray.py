"""The fleet through a real Ray cluster: two Ray nodes on this machine
(ray.cluster_utils.Cluster), `python -m harness fleet` with the smoke profile
on isolate and subprocess. Both nodes share this machine's boot id, so they
measure one after the other; a job killed mid-run is recorded as lost and
`--resume` completes it; and the A/A report of the two says the ratios hold.
Skipped without Ray (tox -e fleet installs it)."""

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

ray = pytest.importorskip("ray", reason="the fleet tests need Ray: pip install -r requirements-fleet.txt "
                                        "(tox -e fleet runs them)")

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
RUN = ["--profile", "smoke", "--backends", "isolate,subprocess"]


@pytest.fixture
def two_nodes():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "labels": {"isobench-node": "a"},
                                                            "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1, labels={"isobench-node": "b"})
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()
        assert not harness_runs(), "a fleet job's run was left running"


def harness_runs() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        line = process.info["cmdline"] or []
        if "harness" in line and "run" in line and "-m" in line and "isobench-fleet-" in " ".join(line):
            found.append(process)
    return found


def fleet(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", "fleet", *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def only_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def test_two_nodes_of_one_machine_measure_one_after_the_other_and_report_as_one(two_nodes, tmp_path):
    done = fleet("--address", two_nodes.address, "--out", str(tmp_path), *RUN)
    _, err = done.communicate(timeout=900)
    assert done.returncode == 0, err
    folder = only_folder(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"]}
    assert set(nodes) == {"a", "b"} and all(n["status"] == "measured" for n in nodes.values())
    assert {n["after"] for n in nodes.values()} in ({"", "a"}, {"", "b"})  # one waited for the other
    first, second = sorted(nodes.values(), key=lambda n: n["started"])
    assert second["started"] >= first["finished"]
    assert nodes["a"]["facts"]["boot_id"] == nodes["b"]["facts"]["boot_id"]
    assert manifest["commit"] and sorted(p.name for p in folder.glob("*.json.gz")) == ["a.json.gz", "b.json.gz"]
    assert "started (after" in err and "[2/2 done]" in err

    from harness.results.store import load

    for name in ("a", "b"):
        run = load(folder / f"{name}.json.gz")
        assert run.provenance.commit == manifest["commit"]  # the shipped checkout knows its commit
        assert {"isolate", "subprocess"} <= set(run.measured)

    report = subprocess.run([sys.executable, "-m", "harness", "report", str(folder), "--out", str(tmp_path / "r")],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "r" / "report.md").read_text()
    assert "## Machines" in text and (tmp_path / "r" / "fleet_ratios.png").is_file()
    assert "holds on every machine" in text  # A/A: one machine twice


def outputs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("isobench-fleet-*"))


def test_a_job_killed_mid_run_is_lost_and_resume_completes_it(two_nodes, tmp_path):
    before = outputs()
    running = fleet("--address", two_nodes.address, "--out", str(tmp_path), *RUN)
    try:
        deadline = time.monotonic() + 300
        while not harness_runs():
            assert time.monotonic() < deadline and running.poll() is None, "no node started its run"
            time.sleep(0.5)
        victim = harness_runs()[0].parent()  # the Ray worker that runs the job
        victim.send_signal(signal.SIGKILL)
        _, err = running.communicate(timeout=900)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 1, err
    folder = only_folder(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    lost = [n for n in manifest["nodes"] if n["status"] == "lost"]
    kept = [n for n in manifest["nodes"] if n["status"] == "measured"]
    assert len(lost) == 1 and len(kept) == 1 and lost[0]["cause"]
    assert f"not measured: {lost[0]['name']} (lost)" in err
    assert (folder / kept[0]["results"]).is_file()
    deadline = time.monotonic() + 60
    while harness_runs():  # the killed job's run got SIGINT from the kernel and stops itself
        assert time.monotonic() < deadline, "the killed job's run is still running"
        time.sleep(0.5)

    again = fleet("--resume", str(folder), "--address", two_nodes.address)
    _, err = again.communicate(timeout=900)
    assert again.returncode == 0, err
    assert "1 to measure, 1 already measured" in err
    resumed = json.loads((folder / "manifest.json").read_text())
    assert all(n["status"] == "measured" for n in resumed["nodes"])
    assert next(n for n in resumed["nodes"] if n["name"] == kept[0]["name"]) == kept[0]
    assert outputs() <= before  # the killed job's output folder went with the next job


def test_the_cluster_files_in_the_docs_are_valid():
    import yaml
    from ray.autoscaler._private.util import validate_config

    launcher = yaml.safe_load((REPO / "docs/fleet/cluster.yaml").read_text())
    validate_config(launcher)  # Ray's own schema: raises on a bad file
    assert len(launcher["available_node_types"]) >= 4  # the head and three machine types
    kuberay = yaml.safe_load((REPO / "docs/fleet/raycluster.yaml").read_text())
    assert kuberay["apiVersion"].startswith("ray.io/") and kuberay["kind"] == "RayCluster"
    assert kuberay["spec"]["rayVersion"] == ray.__version__
