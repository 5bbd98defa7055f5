"""The typed trial record: what a trial process hands its manager reads back
as it was written, a record that is not one is a one-line error, and a
record of an earlier commit (an A/B base) that says less still reads."""

import json

import pytest

from harness.measure.trial_record import BackendDescription, BackendTrialRecord, TrialRecord, TrialRecordError
from harness.suites.cold_start import ColdStartRecord
from harness.suites.warm_call import WarmCallRecord, WarmupRecord


class Sample:
    def __init__(self, wall_s, cpu_s, answer="Hello World!"):
        self.wall_s, self.cpu_s, self.answer, self.phases_ms = wall_s, cpu_s, answer, {"start": wall_s * 500}


def a_record() -> TrialRecord:
    cold = ColdStartRecord()
    for wall in (0.004, 0.005):
        cold.add(Sample(wall, wall * 0.9))
    backend = BackendTrialRecord(info=BackendDescription(summary="a V8 isolate", family="in-process",
                                                         concurrency_modes=("per-caller",), facts={"v8": "13"}),
                                 parts={"cold_start": cold, "warm_call": WarmCallRecord([70_000, 71_000], [60_000, 61_000]),
                                        "warmup": WarmupRecord([90_000, 80_000], True, "awake")})
    missing = BackendTrialRecord(unavailable="no engine here")
    return TrialRecord(protocol=1, index=3, seed=9, started="2026-12-03T00:00:00+00:00",
                       finished="2026-12-03T00:01:00+00:00", backends={"isolate": backend, "wasm": missing},
                       suites={"cold_start": ["isolate"]}, suite_seconds={"cold_start": 1.5})


def test_a_trial_record_reads_back_as_it_was_written():
    record = a_record()
    again = TrialRecord.from_json(record.to_json())
    assert again == record
    assert again.backends["isolate"].part("cold_start").phases_ms == {"start": [2.0, 2.5]}
    assert again.backends["wasm"].info is None and again.backends["wasm"].unavailable == "no engine here"


def test_a_cold_start_without_cpu_time_keeps_none():
    cold = ColdStartRecord()
    cold.add(Sample(0.01, 0.009))
    cold.add(Sample(0.01, None))
    assert cold.cpu_s is None
    assert ColdStartRecord.from_json(cold.to_json(), "cold").cpu_s is None


@pytest.mark.parametrize("broken", [
    lambda raw: raw.pop("backends"),
    lambda raw: raw["backends"]["isolate"]["cold_start"].pop("wall_s"),
    lambda raw: raw.__setitem__("index", "three"),
])
def test_a_record_that_is_not_one_is_a_one_line_error(broken):
    raw = a_record().to_json()
    broken(raw)
    with pytest.raises(TrialRecordError) as caught:
        TrialRecord.from_json(raw)
    assert "\n" not in str(caught.value)


def test_a_base_record_that_says_less_still_reads():
    raw = a_record().to_json()
    for key in ("startup_seconds", "suite_seconds", "cpu_regimes", "suite_errors"):
        raw.pop(key)
    info = raw["backends"]["isolate"]["info"]
    for key in ("cpu_scope", "concurrency_modes", "variant_of"):
        info.pop(key)
    record = TrialRecord.from_json(raw)
    assert record.suite_seconds == {} and record.backends["isolate"].info.concurrency_modes is None


def test_journal_entries_are_typed_and_a_bad_one_is_one_line(tmp_path):
    from harness.measure.journal import (VERSION, CalibrationEntry, Journal, JournalError, LostEntry, ResumedEntry,
                                         TrialEntry)

    from harness.measure.journal import RunHeader
    from harness.measure.options import RunOptions
    from harness.results.model import InjectedDelay

    made = RunHeader(run_id="r", options=RunOptions(backends=("isolate",), profile="smoke"), provenance={"commit": "c"},
                     machine={}, profile={}, worker={}, conditions={}, family_index={"isolate": 0},
                     injected={"isolate": InjectedDelay(crash_trial=1)})
    journal = Journal.create(tmp_path / "run.journal.jsonl", made)
    written = [TrialEntry(a_record()), LostEntry(index=4, cause="killed by SIGKILL", side="head", pair=4),
               CalibrationEntry({"container": InjectedDelay(ms=1.5)}), ResumedEntry("2026-12-03T01:00:00+00:00")]
    for entry in written:
        journal.append(entry)
    header, entries = journal.read()
    assert header == made and entries == written
    assert json.loads(journal.path.read_text().splitlines()[0])["version"] == VERSION
    with open(journal.path, "a") as handle:
        handle.write('{"kind": "teleported"}\n{"kind": "lost", "index": 5}\n')
    with pytest.raises(JournalError, match="unknown journal entry kind 'teleported'") as caught:
        journal.read()
    assert "\n" not in str(caught.value)
