"""The fleet report: a fleet folder built from synthetic runs (one per
machine, plus a node that was lost), its machines table, its ratios machine
by machine, its plot, and whether each ratio holds across the machines."""

from dataclasses import replace

import pytest

from harness import cli
from harness.fleet.manifest import LOST, MEASURED, FleetManifest, FleetNode, NodeFacts
from harness.report.fleet import DEPENDS, HOLDS, build_fleet_report
from harness.results.model import FrozenMap

from .synthetic import MACHINE, save_run, synthetic_run

SLOWER_CONTAINER = {("container", "cold_start"): 1.5}


def machine(name: str, vm: str = "none"):
    return replace(MACHINE, cpu_model=f"CPU {name}", hostname=name, virtualization=FrozenMap({"vm": vm}),
                   cpu_idle=FrozenMap({"driver": "haltpoll" if vm != "none" else "intel_idle", "governor": "menu"}))


def facts(name: str) -> NodeFacts:
    return NodeFacts(hostname=name, boot_id=f"boot-{name}", cpus=2, kernel=MACHINE.kernel, cpu_model=f"CPU {name}")


def fleet(folder, runs: dict, lost: dict | None = None):
    """A fleet folder: each run saved as <name>.json.gz, and a manifest naming them (and the lost nodes)."""
    folder.mkdir(parents=True)
    nodes = []
    for name, run in runs.items():
        save_run(run, folder / f"{name}.json.gz")
        nodes.append(FleetNode(name=name, ray_node_id=f"id-{name}", facts=facts(name), status=MEASURED,
                               results=f"{name}.json.gz", exit_code=0))
    nodes += [FleetNode(name=name, ray_node_id=f"id-{name}", facts=facts(name), status=LOST, cause=cause)
              for name, cause in (lost or {}).items()]
    FleetManifest(fleet_id="20260101-000000-abcdef", commit="a" * 40, dirty=False, address="ray://head:10001",
                  run_args=("--profile", "quick"), started="2026-01-01T00:00:00+00:00",
                  nodes=tuple(sorted(nodes, key=lambda n: n.name))).save(folder)
    return folder


def section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> list[list[str]]:
    """The cells of a section's first table, header included (the separator left out)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    first = text.splitlines().index(lines[0])
    rows = []
    for line in text.splitlines()[first:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def verdict(text: str, pair: str, figure: str = "cold start") -> str:
    """The cross-machine verdict of one ratio in "Do the ratios hold?"."""
    for row in table_rows(section(text, "Do the ratios hold?"))[1:]:
        if row[0] == pair and row[1] == figure:
            return row[2]
    raise AssertionError(f"no verdict row for {pair} {figure}")


@pytest.fixture(scope="module")
def three_machines(tmp_path_factory):
    """a and b from the same distribution; c's container starts 1.5x slower; d was lost."""
    root = tmp_path_factory.mktemp("fleet")
    runs = {"a": synthetic_run(1, trials=5, machine=machine("a")),
            "b": synthetic_run(2, trials=5, machine=machine("b", vm="kvm")),
            "c": synthetic_run(3, trials=5, machine=machine("c"), slower=SLOWER_CONTAINER)}
    folder = fleet(root / "results", runs, lost={"d": "Ray lost the node mid-run"})
    path = build_fleet_report(folder, root / "report")
    return folder, path, path.read_text()


def test_every_node_is_named_and_the_lost_one_with_its_cause(three_machines):
    _, _, text = three_machines
    assert text.startswith("# isobench fleet report\n")
    first = text.splitlines()[2]
    assert "20260101-000000-abcdef" in first and "aaaaaaaaaaaa" in first and "3 of 4 nodes measured" in first
    assert "**d** (lost: Ray lost the node mid-run)" in first


def test_the_machines_table_has_a_row_per_measured_machine(three_machines):
    _, _, text = three_machines
    rows = table_rows(section(text, "Machines"))
    assert rows[0][:3] == ["node", "CPU", "cores"] and "cpuidle" in rows[0] and "virtualisation" in rows[0]
    by_node = {row[0]: row for row in rows[1:]}
    assert set(by_node) == {"a", "b", "c"}
    assert by_node["a"][1] == "CPU a" and by_node["a"][2] == "2" and by_node["a"][3] == "16.0"
    assert "a virtual machine (kvm)" in by_node["b"][6] and "haltpoll" in by_node["b"][5]
    assert "container: v 1" in by_node["c"][7]


def test_the_ratio_tables_have_a_column_per_machine_and_the_plot_is_drawn(three_machines):
    _, path, text = three_machines
    ratios = section(text, "Ratios, machine by machine")
    rows = table_rows(ratios.split("### cold start\n", 1)[1])
    assert rows[0] == ["ratio", "a", "b", "c"]
    container = next(row for row in rows if row[0] == "container/isolate")
    assert all("[" in cell and "–" in cell for cell in container[1:])  # value [95% CI]
    assert "### cold-start CPU time" in ratios and "### memory per instance (USS)" in ratios
    assert "![" in ratios and "fleet_ratios.png" in ratios
    plot = path.parent / "fleet_ratios.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (path.parent / "report.html").read_text()
    assert "data:image/png;base64," in html and "Do the ratios hold?" in html


def test_a_slower_container_makes_its_ratio_depend_on_the_machine(three_machines):
    _, _, text = three_machines
    found = verdict(text, "container/isolate")
    assert found.startswith(DEPENDS) and "c 1." in found and "b " not in found
    meaning = section(text, "What this means")
    assert "Across 3 machines a fresh V8 isolate answered its first call" in meaning
    assert "sooner than a Docker container" in meaning and "container/isolate cold start (c)" in meaning


def test_machines_from_one_distribution_hold(tmp_path):
    runs = {"a": synthetic_run(11, trials=5, machine=machine("a")),
            "b": synthetic_run(12, trials=5, machine=machine("b"))}
    text = build_fleet_report(fleet(tmp_path / "results", runs), tmp_path / "report").read_text()
    assert verdict(text, "container/isolate") == HOLDS
    assert "Across 2 machines" in section(text, "What this means")


def test_the_report_command_takes_a_fleet_folder(three_machines, tmp_path, capsys):
    folder, _, _ = three_machines
    assert cli.main(["report", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.md").read_text().startswith("# isobench fleet report")
    assert "report:" in capsys.readouterr().out
    empty = fleet(tmp_path / "empty", {}, lost={"x": "Ray lost the node"})
    assert cli.main(["report", str(empty), "--out", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no measured node" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "none").exists()
