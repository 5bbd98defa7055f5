"""The report: its first screen answers the question (headline, what it means,
the trade-off map first), every number comes from the run, the body stays
short, plots stay small, containment is a narrow grid, published figures are
paired like for like, and the HTML page is self-contained."""

import re
import struct
from dataclasses import replace

import pytest

from harness import cli
from harness.report import build_report
from harness.containment.record import load as load_containment
from harness.report.data import report_data
from harness.report.headline import headline, what_this_means
from harness.report.markdown import BODY_WORDS, body_words
from harness.results.model import FrozenMap

from .synthetic import save_run, synthetic_run

CONTAINMENT = "tests/data/containment.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    run = synthetic_run(1, trials=4)
    path = build_report(run, folder, containment=load_containment(CONTAINMENT))
    return folder, path.read_text(), run


def png_size(path):
    with open(path, "rb") as handle:
        header = handle.read(24)
    return struct.unpack(">II", header[16:24])


def test_the_first_image_is_the_trade_off_map(built):
    _, text, _ = built
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images[0] == "tradeoff.png"
    first_screen = text.split("## At a glance")[0]
    assert "## What this means" in first_screen and "tradeoff.png" in first_screen


def test_the_body_outside_details_is_short(built):
    _, text, _ = built
    assert body_words(text) <= BODY_WORDS
    assert "<details>" in text  # methodology and detail are collapsed, not dropped


def test_what_this_means_is_at_most_eight_lines_and_says_where_the_isolate_loses(built):
    _, text, _ = built
    block = text.split("## What this means")[1].split("![")[0].strip().splitlines()
    assert 1 <= len(block) <= 8
    assert any("loses on calls" in line for line in block)  # the synthetic node process answers warm calls sooner
    assert any("Containment" in line and "3 of 5" in line for line in block)


def test_every_number_in_what_this_means_comes_from_the_run():
    """Make the isolate's cold start 3x slower in the data: the sentences change with it."""
    run = synthetic_run(1, trials=4)
    slower = synthetic_run(1, trials=4, slower={("isolate", "cold_start"): 3.0})
    before, after = what_this_means(report_data(run)), what_this_means(report_data(slower))
    assert before.text != after.text
    ratio = after.numbers["reference cold start ms"] / before.numbers["reference cold start ms"]
    assert ratio == pytest.approx(3.0, rel=0.15)
    for key, value in after.numbers.items():
        assert value > 0, key
    assert headline(report_data(run)).numbers["container cold start ratio"] != \
        headline(report_data(slower)).numbers["container cold start ratio"]


def test_plots_are_at_most_about_a_thousand_pixels_tall(built):
    folder, _, _ = built
    pngs = list(folder.glob("*.png"))
    assert {"tradeoff.png", "cold_start.png", "warm_call.png", "memory.png"} <= {p.name for p in pngs}
    for png in pngs:
        width, height = png_size(png)
        assert height <= 1000, f"{png.name} is {height} px tall"


def test_containment_is_a_narrow_grid_with_a_footnote_per_cross(built):
    _, text, _ = built
    section = text.split("## Containment")[1].split("<details>")[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows and all(len(line) <= 100 for line in rows)
    crosses = sum(line.count("✗") for line in rows)
    footnotes = [line for line in section.splitlines() if re.match(r"^[¹²³⁴⁵⁶⁷⁸⁹⁰]+ ", line)]
    assert crosses == len(footnotes) > 0


def test_published_figures_are_paired_like_for_like(built):
    _, text, _ = built
    table = text.split("## Published figures beside these")[1].split("\n## ")[0]
    assert "100×" in table and "node-process" not in table  # roles stay behind the scenes
    node = next(line for line in table.splitlines() if "node process starts about 100×" in line)
    assert "subprocess over isolate" in node and "differs" in node
    assert "derived" in node
    micro_vm = next(line for line in table.splitlines() if "micro-VM" in line)
    assert "not measured here" in micro_vm


def test_backends_are_grouped_by_family(built):
    _, text, run = built
    table = text.split("## At a glance")[1].split("\n## ")[0]
    families = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "**" in line]
    assert families == ["in-process", "process", "container"]


def test_the_environment_says_how_the_machine_is_virtualised(tmp_path):
    run = synthetic_run(1)
    machine = replace(run.machine, virtualization=FrozenMap({"vm": "kvm", "hypervisor_cpu_flag": True}))
    text = build_report(replace(run, machine=machine), tmp_path).read_text()
    environment = text.split("## Environment")[1]
    assert "a virtual machine (kvm)" in environment and "at the start" in environment


def test_the_html_page_is_self_contained(built):
    folder, _, _ = built
    page = (folder / "report.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    images = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<details>" in page and "<table>" in page


def test_a_baseline_adds_what_changed_and_what_lies_outside_its_interval(tmp_path):
    old = synthetic_run(1, trials=4)
    new = synthetic_run(2, trials=4, slower={("container", "cold_start"): 1.6, ("container", "cold_start_cpu"): 1.6})
    text = build_report(new, tmp_path, baseline=old).read_text()
    section = text.split("## Since the baseline")[1].split("\n## ")[0]
    assert "regression" in section and "container" in section
    assert "lie inside the baseline's own 95% interval" in section
    assert "- Outside: container cold_start" in section


def test_banners_for_injected_lost_and_isobench_1_runs(tmp_path):
    from harness.results.store import load

    injected = build_report(synthetic_run(1, injected={"container": 50.0}), tmp_path / "a").read_text()
    assert "**Injected faults (test only):**" in injected.split("## What this means")[0]
    old = build_report(load("tests/data/v1-quick.json"), tmp_path / "b").read_text()
    assert "**Written by isobench 1:**" in old


def test_report_command_and_bad_input(tmp_path, capsys):
    results = save_run(synthetic_run(3), tmp_path / "run.json")
    assert cli.main(["report", str(results), "--containment", CONTAINMENT, "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "report.html").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{broken")
    capsys.readouterr()
    assert cli.main(["report", str(bad), "--out", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert "corrupt JSON" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "none" / "report.md").exists()
    bad_containment = tmp_path / "contain.json"
    bad_containment.write_text("[]")
    assert cli.main(["report", str(results), "--containment", str(bad_containment), "--out", str(tmp_path / "x")]) == 2


def test_concurrency_says_why_a_backend_has_no_figures():
    from harness.report import scale
    from harness.results.store import load

    run = load("tests/data/v1-quick.json")
    backends = dict(run.backends)
    sub, con = backends["subprocess"], backends["container"]
    backends["subprocess"] = replace(sub, concurrency=(), info=replace(sub.info, concurrency_modes=()))
    backends["container"] = replace(con, concurrency=(), info=replace(
        con.info, failures=("trial 0: concurrency: RuntimeError: boom",)))
    notes = [line for line in scale.section(report_data(replace(run, backends=FrozenMap(backends))), {})
             if line.startswith("- ")]
    assert any(line.startswith("- Not measured: subprocess. They declare no way") for line in notes)
    assert "- container failed: trial 0: concurrency: RuntimeError: boom" in notes
    assert not any("does not record why" in line for line in notes)  # each one's reason is known


def test_a_run_without_cold_starts_gets_a_report_that_says_so(tmp_path):
    run = synthetic_run(1)
    bare = {name: replace(result, cold_start=None) for name, result in run.backends.items()}
    text = build_report(replace(run, backends=FrozenMap(bare)), tmp_path).read_text()
    assert "This run measured no cold starts" in text and "## At a glance" in text
