"""history: runs (results files or their small history files) ordered by
commit time or date, series with their intervals, step changes, the command."""

import json

from harness import cli
from harness.findings.history import build_history, find_runs, to_markdown
from harness.findings.key_figures import history_record

from .synthetic import save_run, synthetic_run


def test_runs_are_ordered_by_commit_time_then_date(tmp_path):
    save_run(synthetic_run(1, commit="b" * 40, started="2026-03-01T00:00:00+00:00"), tmp_path / "late.json")
    save_run(synthetic_run(2, commit="a" * 40, started="2026-01-01T00:00:00+00:00"), tmp_path / "early.json")
    save_run(synthetic_run(3, commit=None, started="2026-02-01T00:00:00+00:00"), tmp_path / "none.json")
    found, _ = find_runs(tmp_path)
    history = build_history(found)
    assert [r.label for r in history.runs] == ["aaaaaaaa", "2026-02-01T00:00", "bbbbbbbb"]
    points = history.series["cold_start/container"].points
    assert [p.label for p in points] == ["aaaaaaaa", "2026-02-01T00:00", "bbbbbbbb"]
    assert all(p.ci95[0] <= p.value <= p.ci95[1] and p.trials == 3 for p in points)
    assert "cold_start_ratio/container/isolate" in history.series
    assert history.series["cold_start/container"].family == "container"


def test_a_slowdown_from_one_commit_on_is_a_step(tmp_path):
    for i in range(12):
        slower = {("container", "cold_start"): 1.5} if i >= 6 else {}
        run = synthetic_run(i, slower=slower, commit=f"{i:02d}" * 20, started=f"2026-01-{i + 1:02d}T00:00:00+00:00")
        (tmp_path / f"r{i:02d}.json").write_text(json.dumps(history_record(run)))
    found, _ = find_runs(tmp_path)
    history = build_history(found)
    steps = history.series["cold_start/container"].steps
    assert [(s.label, s.change.direction) for s in steps] == [("06060606", "up")]
    assert history.series["cold_start/subprocess"].steps == []


def test_a_results_file_and_its_history_file_are_one_run(tmp_path):
    run = synthetic_run(1)
    save_run(run, tmp_path / "run.json")
    (tmp_path / "run.history.json").write_text(json.dumps(history_record(run)))
    found, _ = find_runs(tmp_path)
    assert len(found) == 1


def test_find_runs_skips_foreign_injected_and_latest(tmp_path):
    save_run(synthetic_run(1), tmp_path / "a.json")
    save_run(synthetic_run(1), tmp_path / "latest.json")
    save_run(synthetic_run(2, injected={"subprocess": 40.0}), tmp_path / "fake.json")
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    found, skipped = find_runs(tmp_path)
    assert len(found) == 1
    assert any("injected" in s for s in skipped) and any("other.json" in s for s in skipped)


def test_history_command_writes_png_and_markdown(tmp_path, capsys):
    for i in range(3):
        save_run(synthetic_run(i, commit=f"{i:02d}" * 20, started=f"2026-01-0{i + 1}T00:00:00+00:00"),
                 tmp_path / f"r{i}.json")
    out = tmp_path / "out"
    assert cli.main(["history", str(tmp_path), "--out", str(out)]) == 0
    png = (out / "history.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert "cold_start/container" in (out / "history.md").read_text()
    assert "History of 3 run(s)" in capsys.readouterr().out


def test_history_of_an_empty_folder_is_bad_input(tmp_path, capsys):
    assert cli.main(["history", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no isobench results" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_drift_is_measured_between_runs_of_one_commit_only(tmp_path):
    # Six runs of one commit, every other one 30% slower on container cold
    # starts: a drift no run's own interval sees. Two other commits are not pooled.
    for i in range(6):
        slower = {("container", "cold_start"): 1.3} if i % 2 else {}
        save_run(synthetic_run(i, slower=slower, commit="c" * 40, started=f"2026-01-0{i + 1}T00:00:00+00:00"),
                 tmp_path / f"same{i}.json")
    save_run(synthetic_run(7, slower={("subprocess", "cold_start"): 3.0}, commit="d" * 40,
                           started="2026-02-01T00:00:00+00:00"), tmp_path / "other.json")
    history = build_history(find_runs(tmp_path)[0])
    container = history.series["cold_start/container"].drift
    assert container.runs == 6 and container.commit == "c" * 40
    assert 0.08 < container.cv < 0.3  # about log(1.3)/2 = 0.13, less the runs' own errors
    assert history.series["cold_start/subprocess"].drift.cv < 0.05  # the 3x of another commit is not drift
    assert "drift between runs of one commit" in to_markdown(history)


def test_no_drift_from_one_run_per_commit(tmp_path):
    for i in range(3):
        save_run(synthetic_run(i, commit=f"{i:02d}" * 20), tmp_path / f"r{i}.json")
    history = build_history(find_runs(tmp_path)[0])
    assert history.series["cold_start/container"].drift is None
