"""Density: instances per GiB and its curve, the decisions that stop a sweep
early, and the sweep itself on a fake backend (what stopped it, and that
every instance is stopped)."""

import pytest

from harness.analysis.density import analyse, density_curve, headline_kinds, instances_per_gib, summarize_density
from harness.procedures.density import (
    GIB,
    LADDER_COMPLETE,
    DensitySettings,
    Hooks,
    MachineState,
    Progress,
    density_sweep,
    limit_reached,
    machine_state,
    plan_next_rung,
)
from harness.results.model import DensitySweep, DensityStep, FrozenMap

from .fakes import MIB, FakeBackend, FakeWorker


def steps_of(counts, per_kind, klass="in-process"):
    """A sweep whose total growth is per_kind[kind](n) at each n."""
    steps = tuple(DensityStep(n, FrozenMap({kind: f(n) for kind, f in per_kind.items()})) for n in counts)
    return DensitySweep(trial=0, instance_class=klass, ladder=tuple(counts), steps=steps,
                        stopped_because=LADDER_COMPLETE, stopped_early=False)


def settings(budget_s=60.0, counts=(1,), **kwargs):
    return DensitySettings(counts=counts, budget_s=budget_s, **kwargs)


def test_instances_per_gib():
    assert instances_per_gib(MIB) == 1024
    assert instances_per_gib(GIB / 3) == pytest.approx(3)
    assert instances_per_gib(0) is None
    assert instances_per_gib(-5.0) is None
    assert instances_per_gib(None) is None


def test_curve_is_the_marginal_between_rungs():
    curve = density_curve([1, 10, 100], [5 * MIB, 14 * MIB, 194 * MIB])
    assert [point.n for point in curve] == [10, 100]
    assert curve[0].marginal_bytes == pytest.approx(MIB)
    assert curve[1].marginal_bytes == pytest.approx(2 * MIB)
    assert curve[1].instances_per_gib == pytest.approx(512)


def test_analyse_uses_the_slope_over_n_of_two_and_more():
    # A lone process owns 20 MiB that the others share; each further one costs 6 MiB.
    steps = steps_of([1, 10, 50, 100], {"pss": lambda n: 20 * MIB + 6 * MIB * (n - 1), "uss": lambda n: 1.0},
                     klass="process")
    figures = analyse(steps)
    assert figures.memory_kind == "pss"
    assert figures.bytes_per_instance == pytest.approx(6 * MIB)
    assert figures.instances_per_gib == pytest.approx(1024 / 6)
    assert "N = 10, 50, 100" in figures.method


def test_analyse_with_one_rung_past_one_uses_the_step_from_the_rung_before():
    steps = steps_of([1, 3], {"pss": lambda n: 20 * MIB + 6 * MIB * (n - 1)}, klass="process")
    figures = analyse(steps)
    assert figures.bytes_per_instance == pytest.approx(6 * MIB)
    assert "from N = 1 to N = 3" in figures.method


def test_analyse_with_a_single_rung_divides_by_n():
    figures = analyse(steps_of([4], {"uss": lambda n: 8 * MIB}, klass="in-process"))
    assert figures.bytes_per_instance == pytest.approx(2 * MIB)


def test_containers_count_the_cgroup_and_the_shim():
    steps = steps_of([1, 5, 10], {"cgroup": lambda n: 6 * MIB * n, "shim_pss": lambda n: 2 * MIB * n,
                                  "pss": lambda n: 1.0}, klass="container")
    figures = analyse(steps)
    assert figures.memory_kind == "cgroup+shim_pss"
    assert figures.bytes_per_instance == pytest.approx(8 * MIB)
    assert headline_kinds("container", ["cgroup", "pss"]) == ("cgroup",)
    assert headline_kinds("container", ["cgroup", "runtime_pss", "pss"]) == ("cgroup", "runtime_pss")
    assert headline_kinds("container", ["pss"]) == ("pss",)
    assert headline_kinds("in-process", ["uss", "pss"]) == ("uss",)
    assert headline_kinds("process", ["v8_heap_used"]) == ()


def test_memory_that_does_not_grow_gives_no_density_figure():
    figures = analyse(steps_of([1, 10, 20], {"uss": lambda n: 5 * MIB}, klass="in-process"))
    assert figures.instances_per_gib is None
    assert analyse(steps_of([], {}, klass="process")).instances_per_gib is None
    assert analyse(steps_of([1, 2], {"v8_heap_used": lambda n: n}, klass="process")).instances_per_gib is None




def test_limit_reached_names_the_reason():
    total, rules = 16 * GIB, settings(budget_s=10.0)
    assert limit_reached(MachineState(8 * GIB, total), rules, 1.0) is None
    assert limit_reached(MachineState(8 * GIB, total), rules, 10.0).startswith("time budget")
    assert limit_reached(MachineState(3 * GIB, total), rules, 1.0).startswith("memory floor")
    assert limit_reached(MachineState(8 * GIB, total, 20000, 32768), rules, 1.0).startswith("task ceiling")
    assert limit_reached(MachineState(8 * GIB, total, 2000, 32768), rules, 1.0) is None
    assert limit_reached(MachineState(8 * GIB, total, maps=50000, map_limit=65530), rules, 1.0).startswith("map ceiling")
    assert limit_reached(MachineState(8 * GIB, total, maps=20000, map_limit=65530), rules, 1.0) is None


def test_plan_next_rung_keeps_a_rung_that_fits():
    assert plan_next_rung(Progress(10, 1, 0.1, 0.1), 100, settings(60)) == (100, None)


def test_plan_next_rung_cuts_a_rung_to_the_time_left():
    # 50 s left; each instance takes 0.1 s to start, reading costs 0.01 s per instance.
    target, reason = plan_next_rung(Progress(100, 10, 0.1, 1.0), 1000, settings(60))
    assert target == int((50 + 100 * 0.1) / 0.11)
    assert (target - 100) * 0.1 + 0.01 * target <= 50
    assert reason.startswith("time budget") and f"cut to N = {target}" in reason


def test_plan_next_rung_stops_when_too_little_fits():
    target, reason = plan_next_rung(Progress(100, 58, 0.1, 1.0), 1000, settings(60))
    assert target == 100 and reason.startswith("time budget")


def test_plan_next_rung_respects_the_memory_floor():
    target, reason = plan_next_rung(Progress(10, 0, 0.01, 0.1, 5 * GIB, 20 * MIB), 100, settings(600),
                                    floor_bytes=4 * GIB)
    assert target == 10 + 1024 // 20
    assert reason.startswith("memory floor")


def fake_clock():
    now = [0.0]

    def advance():
        now[0] += 1.0

    return (lambda: now[0]), advance


def test_sweep_completes_a_ladder_and_stops_every_instance():
    backend = FakeBackend(bytes_per_instance=MIB)
    result = density_sweep(backend, FakeWorker(), settings(60, (1, 5, 20)))
    assert result["stopped_because"] == LADDER_COMPLETE and not result["stopped_early"]
    assert [step["n"] for step in result["steps"]] == [1, 5, 20]
    assert result["steps"][-1]["total_bytes"]["uss"] == 20 * MIB
    sweep = DensitySweep.from_json(result, "sweep")
    assert sweep.max_n_reached == 20
    assert backend.live == set() and all(i.stopped for i in backend.started)
    summary = summarize_density(sweep)
    assert summary.instances_per_gib == pytest.approx(1024)
    assert summary.memory_kind == "uss"
    assert [point.n for point in summary.curve] == [1, 5, 20]


def test_sweep_stops_at_the_time_budget():
    clock, advance = fake_clock()  # every start takes one (fake) second
    backend = FakeBackend(on_start=advance)
    result = density_sweep(backend, FakeWorker(), settings(30, (1, 10, 100)), hooks=Hooks(clock=clock))
    assert result["stopped_early"] and result["stopped_because"].startswith("time budget")
    assert 10 < result["steps"][-1]["n"] <= 30
    assert backend.live == set()


def test_sweep_stops_at_the_memory_floor():
    backend = FakeBackend()

    def machine():  # MemAvailable falls by 1 GiB per live instance out of 16 GiB
        return MachineState(16 * GIB - len(backend.live) * GIB, 16 * GIB)

    result = density_sweep(backend, FakeWorker(), settings(600, (1, 5, 100), memory_floor=0.25), hooks=Hooks(machine=machine))
    assert result["stopped_because"].startswith("memory floor")
    assert result["steps"][-1]["n"] <= 13
    assert backend.live == set()


def test_sweep_stops_at_an_error_and_keeps_what_it_measured():
    backend = FakeBackend(fail_at=8)
    result = density_sweep(backend, FakeWorker(), settings(60, (1, 5, 10)))
    assert result["stopped_because"] == "error at N = 8: BackendError: no more room"
    assert [step["n"] for step in result["steps"]] == [1, 5, 7]
    assert backend.live == set()


def test_machine_state_reads_this_machine():
    state = machine_state()
    assert 0 < state.available <= state.total
    assert state.tasks is None or 0 < state.tasks < state.task_limit
    assert state.maps is None or 0 < state.maps < state.map_limit


def test_sweep_stops_before_the_process_runs_out_of_memory_mappings():
    backend = FakeBackend()

    def machine():  # each live instance adds 20 mappings to the harness, as a py_mini_racer isolate does
        return MachineState(16 * GIB, 16 * GIB, maps=1000 + 20 * len(backend.live), map_limit=4000)

    result = density_sweep(backend, FakeWorker(), settings(600, (1, 10, 1000)), hooks=Hooks(machine=machine))
    assert result["stopped_because"].startswith("map ceiling")
    assert result["steps"][-1]["n"] == 101  # 1000 + 20 * 101 > 0.75 * 4000
    assert backend.live == set()

