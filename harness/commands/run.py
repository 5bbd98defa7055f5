"""`run`: measure the backends in trials and write a results file."""

from __future__ import annotations

import datetime
import os
import sys
import uuid
from dataclasses import replace
from pathlib import Path

from harness.commands.output import output_folder, sigterm_as_interrupt
from harness.errors import EXIT_INTERRUPTED, UsageError
from harness.measure.options import add_to_argparse, given


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="measure the backends in trials and write a results file")
    add_to_argparse(parser)
    parser.add_argument("--out", default="results", help="folder for the results file (default: %(default)s)")
    parser.add_argument("--resume", default=None, metavar="JOURNAL",
                        help="finish an interrupted run from its journal (its own options are used)")
    parser.set_defaults(handler=run)


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

    path = Path(journal_path)
    try:
        header, _ = Journal(path).read()
    except JournalError as error:
        raise UsageError(str(error)) from None
    name = path.name.removesuffix(".journal.jsonl")
    return RunSetup(header.options, path.parent, stamp=name.split("-")[0], name=name)


def report_outcome(outcome, print_summary: bool = True) -> None:
    from harness.findings.summary import summarize_run, to_markdown

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
    from harness.measure.preflight import api_exclusions, some_backend_can_run, worker_answers

    if args.resume:
        setups = [_resumed_setup(args.resume)]
        resume = Path(args.resume)
    else:
        stamp, options = new_run_options(args)
        some_backend_can_run(options)
        each = options.per_workload()
        for one in each:
            worker_answers(one)
        each = [api_exclusions(one) for one in each]
        out = output_folder(args.out)
        several = len(each) > 1
        setups = [RunSetup(one, out, stamp, name=f"{stamp}-{one.profile}-{one.workloads[0]}" if several else "")
                  for one in each]
        resume = None
    options = setups[0].options
    print(f"isobench run: backends={','.join(options.backends)} profile={options.profile} seed={options.seed} "
          f"-> {setups[0].out_dir}/", file=sys.stderr, flush=True)
    outcomes = []
    with sigterm_as_interrupt():
        for number, setup in enumerate(setups, 1):
            if len(setups) > 1:
                print(f"isobench run: workload {number}/{len(setups)}: {setup.options.workloads[0]}",
                      file=sys.stderr, flush=True)
            outcome = Manager(setup).run(resume)
            report_outcome(outcome)
            outcomes.append(outcome)
            if outcome.code == EXIT_INTERRUPTED:
                break
    if len(setups) > 1:
        _save_workload_set(setups, outcomes)
    return max(outcome.code for outcome in outcomes)


def _save_workload_set(setups, outcomes) -> None:
    """The workloads measured, in one file (and latest.json); their own files go
    once the set holds them. An interrupted set keeps what it has: the
    finished workloads' files and the journal of the one under way."""
    from harness.results.model import WorkloadSet
    from harness.results.store import save

    runs = [outcome.runs[""] for outcome in outcomes if "" in outcome.runs]
    if len(outcomes) < len(setups) or any(outcome.code == EXIT_INTERRUPTED for outcome in outcomes) or not runs:
        done = ", ".join(run.workload for run in runs) or "none"
        print(f"isobench: the workload set is incomplete (finished: {done}); each finished workload's "
              "results file is kept", file=sys.stderr)
        return
    first = setups[0]
    workloads = WorkloadSet.of(runs)
    path = save(workloads, first.out_dir / f"{first.stamp}-{first.options.profile}-workloads.json")
    save(workloads, first.out_dir / "latest.json")
    for outcome in outcomes:
        for part in outcome.paths.values():
            part.unlink(missing_ok=True)
    print(f"\nworkloads: {path} ({len(runs)} workloads: {', '.join(workloads.names)})")
