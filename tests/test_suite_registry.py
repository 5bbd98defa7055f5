"""A new suite is one module plus one registry line: a toy suite, added that
way to a copy of the package, runs end to end and its figure reaches the
results file, the summary, `compare` and the report, with no other file
changed. And every suite of the registry declares what the harness reads."""

import filecmp
import json
import os
import shutil
import subprocess
import sys

import pytest

from harness.paths import REPO_ROOT
from harness.suites import FIGURES, RECORDS, REGISTRY, SUITES
from harness.suites.base import Suite

TOY = '''"""A toy suite: five timed calls on one fresh instance of each backend."""

import time
from dataclasses import dataclass, field

from harness.procedures.instances import ARG, cold_start
from harness.results.vocabulary import Figure
from harness.suites.base import Suite, parts, series
from harness.suites.records import floats, mapping


@dataclass
class ToyRecord:
    call_s: list = field(default_factory=list)

    def to_json(self):
        return {"call_s": self.call_s}

    @classmethod
    def from_json(cls, raw, what):
        return cls(floats(mapping(raw, what)["call_s"], what))


class ToySuite(Suite):
    name = "toy"
    label = "toy calls"
    figures = (Figure("toy_call", "toy call", "µs", 1e6, "One call on a fresh instance, timed by the toy suite."),)
    records = {"toy": ToyRecord}

    def measure(self, trial):
        for name in trial.order(trial.members(self.name)):
            instance, _, _ = cold_start(trial.backends[name], trial.worker, ARG)
            try:
                for _ in range(5):
                    began = time.perf_counter()
                    instance.call(ARG)
                    trial.record(name).timed("toy").call_s.append(time.perf_counter() - began)
            finally:
                instance.stop()

    def merge(self, records):
        return {"timings": {"toy_call": series((r.call_s, t) for t, r in parts(records, "toy"))}}


SUITE = ToySuite()
'''


def _copy_with_toy(root):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("harness", "workloads"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=ignore)
    (root / "harness" / "suites" / "toy.py").write_text(TOY)
    registry = root / "harness" / "suites" / "__init__.py"
    text = registry.read_text()
    last = f'    "{REGISTRY[-1]}",\n'
    assert text.count(last) == 1
    registry.write_text(text.replace(last, last + '    "harness.suites.toy",\n'))


def _changed(left, right) -> list[str]:
    """Files that differ or exist on one side only, below two folders."""
    found = []

    def walk(compared, prefix):
        found.extend(prefix + name for name in compared.left_only + compared.right_only + compared.diff_files)
        for name, sub in compared.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=["__pycache__"]), "")
    return sorted(found)


@pytest.mark.slow
def test_a_toy_suite_is_one_module_and_one_registry_line(tmp_path):
    root = tmp_path / "repo"
    _copy_with_toy(root)
    assert _changed(REPO_ROOT / "harness", root / "harness") == ["suites/__init__.py", "suites/toy.py"]
    assert _changed(REPO_ROOT / "workloads", root / "workloads") == []
    env = {**os.environ, "PYTHONPATH": str(root)}

    def harness(*args):
        done = subprocess.run([sys.executable, "-m", "harness", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done.stdout

    out = tmp_path / "out"
    harness("run", "--backends", "isolate", "--profile", "smoke", "--suites", "cold_start,toy", "--out", str(out))
    results = out / "latest.json"
    raw = json.loads(results.read_text())
    toy = [b for b in raw["benchmarks"] if b["extra_info"]["metric"] == "toy_call"]
    assert len(toy) == 1 and len(toy[0]["stats"]["data"]) == 10  # 5 calls in each of the 2 smoke trials
    assert sorted(set(toy[0]["extra_info"]["trials"])) == [0, 1]
    assert raw["isobench"]["profile"]["suites"] == ["cold_start", "toy"]

    summary = json.loads(harness("summary", str(results), "--format", "json"))
    assert summary["backends"]["isolate"]["toy_call_us"]["n"] == 10
    assert summary["units"]["toy_call_us"] == "microseconds"

    compared = json.loads(harness("compare", str(results), str(results), "--format", "json"))
    rows = [row for row in compared["rows"] if row["metric"] == "toy_call"]
    assert rows and rows[0]["backend"] == "isolate"

    report = tmp_path / "report"
    harness("report", str(results), "--out", str(report))
    text = (report / "report.md").read_text()
    assert "## Toy calls" in text and "| isolate |" in text.split("## Toy calls")[1]
    assert "toy call (µs)" in text  # the methodology's table of timers


def test_every_suite_declares_what_the_harness_reads():
    assert list(SUITES) == [module.rsplit(".", 1)[1] for module in REGISTRY]
    for name, suite in SUITES.items():
        assert isinstance(suite, Suite) and suite.name == name and suite.label
        assert suite.records, name
        for kind in suite.records.values():
            assert callable(getattr(kind, "from_json")) and callable(getattr(kind, "to_json")), (name, kind)
        assert type(suite).measure is not Suite.measure and type(suite).merge is not Suite.merge, name
    keys = [key for suite in SUITES.values() for key in suite.records]
    assert len(keys) == len(set(keys)) == len(RECORDS)  # no record key is claimed twice
    figures = [figure.key for suite in SUITES.values() for figure in suite.figures]
    assert sorted(figures) == sorted(FIGURES)  # every figure is some suite's, once


def test_the_planner_follows_each_suites_schedule():
    from harness.measure.profiles import get_profile
    from harness.measure.stopping import Planner

    quick = get_profile("quick")
    planner = Planner(quick, ("isolate", "subprocess"))
    plans = [planner.plan(index, None, 0.0, 1.0) for index in range(quick.stopping.min_trials)]
    last = quick.stopping.min_trials - 1
    assert [i for i, plan in enumerate(plans) if "density" in plan] == [last]  # one capacity trial, the last
    assert [i for i, plan in enumerate(plans) if "concurrency" in plan] == [last]
    assert [i for i, plan in enumerate(plans) if "memory" in plan] == list(range(SUITES["memory"].settings(quick).memory_trials))
    assert all(plan["cold_start"] == ("isolate", "subprocess") for plan in plans)
    assert planner.plan(quick.stopping.max_trials, None, 0.0, 1.0) is None


def test_a_profile_lists_what_differs_and_a_suite_reads_its_own_settings():
    from harness.measure.profiles import profile
    from harness.results.model import Profile

    made = profile("mine", "a test profile", cold_start=dict(cold_rounds=4))
    cold = SUITES["cold_start"].settings(made)
    assert cold.cold_rounds == 4 and cold.cold_warmups == type(cold)().cold_warmups  # the rest: the defaults
    assert made.suites == tuple(SUITES)
    assert Profile.from_json(made.to_json(), "profile") == made  # one flat object in a results file
    with pytest.raises(ValueError, match="cold_start"):
        profile("bad", "", cold_start=dict(cold_rouns=4))
    with pytest.raises(ValueError, match="unknown suite 'toy'"):
        profile("bad", "", toy=dict(rounds=1))
