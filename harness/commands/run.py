"""`run`: measure the backends in trials and write a results file."""

from __future__ import annotations

import datetime
import os
import signal
import sys
import uuid
from dataclasses import replace
from pathlib import Path

from harness.commands.output import output_folder
from harness.errors import UsageError
from harness.measure.options import add_to_argparse, given


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="measure the backends in trials and write a results file")
    add_to_argparse(parser)
    parser.add_argument("--out", default="results", help="folder for the results file (default: %(default)s)")
    parser.add_argument("--resume", default=None, metavar="JOURNAL",
                        help="finish an interrupted run from its journal (its own options are used)")
    parser.set_defaults(handler=run)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def new_run_options(args):
    """The checked options of a new run, with its id and seed fixed now."""
    from harness.measure.options import run_options

    options = run_options(given(lambda name: getattr(args, name.replace("-", "_"))))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return stamp, replace(options, run_id=options.run_id or f"{stamp}-{uuid.uuid4().hex[:8]}",
                          seed=options.seed if options.seed is not None else int.from_bytes(os.urandom(4), "big"))


def _resumed_setup(journal_path: str):
    from harness.measure.journal import Journal, JournalError
    from harness.measure.manager import RunSetup
    from harness.measure.options import RunOptions

    path = Path(journal_path)
    try:
        header, _ = Journal(path).read()
    except JournalError as error:
        raise UsageError(str(error)) from None
    name = path.name.removesuffix(".journal.jsonl")
    return RunSetup(RunOptions.from_json(header["options"]), path.parent, stamp=name.split("-")[0], name=name)


def report_outcome(outcome, print_summary: bool = True) -> None:
    from harness.analysis.summary import summarize_run, to_markdown

    for side, run in outcome.runs.items():
        if print_summary:
            print()
            if side:
                print(f"## {side}\n")
            print(to_markdown(summarize_run(run)), end="")
        print(f"\nresults: {outcome.paths[side]} (status: {run.status}, {len(run.complete_trials)} trial(s))")
    for message in outcome.messages:
        print(f"isobench: {message}", file=sys.stderr)
    for run in outcome.runs.values():
        for name, result in run.backends.items():
            if result.info.failures:
                print(f"isobench: {name} failed ({len(result.info.failures)} measurement(s)): "
                      f"{result.info.failures[0]}", file=sys.stderr)
            elif not result.info.available:
                print(f"isobench: skipped (unavailable): {name}: {result.info.reason}", file=sys.stderr)
        if run.injected:
            print("isobench: WARNING: injected faults (test only, not a real measurement): "
                  + "; ".join(f"{n}: {d.describe()}" for n, d in run.injected.items()), file=sys.stderr)
        break


def run(args) -> int:
    from harness.measure.manager import Manager, RunSetup
    from harness.measure.preflight import some_backend_can_run, worker_answers

    if args.resume:
        setup = _resumed_setup(args.resume)
        resume = Path(args.resume)
    else:
        stamp, options = new_run_options(args)
        some_backend_can_run(options)
        worker_answers(options)
        setup = RunSetup(options, output_folder(args.out), stamp)
        resume = None
    options = setup.options
    print(f"isobench run: backends={','.join(options.backends)} profile={options.profile} seed={options.seed} "
          f"-> {setup.out_dir}/", file=sys.stderr, flush=True)
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        outcome = Manager(setup).run(resume)
    finally:
        signal.signal(signal.SIGTERM, previous)
    report_outcome(outcome)
    return outcome.code
