"""Results files are written atomically: a write that fails or is
interrupted half-way leaves the previous file whole and no temporary file."""

import os

import pytest

from harness.results.store import write_atomic


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, failure, step):
    target = tmp_path / "latest.json"
    target.write_text('{"previous": true}\n')

    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(type(failure)):
        write_atomic(target, '{"new": true}\n' * 1000)
    monkeypatch.undo()
    assert target.read_text() == '{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]


def test_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "deep" / "latest.json"
    write_atomic(target, "first version, longer than the second\n")
    write_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["latest.json"]


def test_gzip_results_round_trip_and_a_corrupt_one_is_one_error(tmp_path):
    from harness.results.store import ResultsError, dumps, load, save
    from tests.synthetic import synthetic_run

    run = synthetic_run(seed=1)
    path = save(run, tmp_path / "run.json.gz")
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic
    assert dumps(load(path)) == dumps(run)
    (tmp_path / "bad.json.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(ResultsError, match="cannot read"):
        load(tmp_path / "bad.json.gz")
