"""A trial process: `python -m harness.measure.trial_process SPEC OUT` opens
the trial the spec describes, runs its suites (harness/suites/, in the
registry's order) and leaves the trial record at OUT. The run manager starts
one fresh process per trial, so each trial has its own address-space layout,
heap and engine state (as pyperf's worker processes do), and a trial that
crashes loses only itself."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from harness.measure.session import close_trial, open_trial
    from harness.measure.trial import TrialError, read_spec, warn, write_record

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m harness.measure.trial_process SPEC.json RECORD.json", file=sys.stderr)
        return 2
    try:
        spec = read_spec(args[0])
    except TrialError as error:
        warn(str(error))
        return 2
    trial = open_trial(spec)
    try:
        trial.run_plan()
    finally:  # also on Ctrl-C: every backend is closed, and what was measured is kept
        record = close_trial(trial)
        write_record(args[1], record)
    return 1 if trial.suite_errors else 0


if __name__ == "__main__":
    sys.exit(main())
