"""`contain`: run each hostile worker (workloads/hostile/) on each backend,
each pair in its own probe process, and record what each backend contains."""

from __future__ import annotations

import datetime
import signal
import sys
import uuid

from harness.commands.output import output_folder
from harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_SKIPPED, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("contain", help="run the hostile workers on every backend: what each contains")
    parser.add_argument("--backends", default="all",
                        help="comma-separated backends, or 'all' (default: %(default)s; those without Limits "
                             "or unavailable here are skipped with the reason)")
    parser.add_argument("--workloads", default="all",
                        help="comma-separated hostile workers: spin, heap-bomb, crash, escape, neighbour, or all")
    parser.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS",
                        help="Limits.call_timeout_s for every backend (default: %(default)s)")
    parser.add_argument("--memory-mb", type=int, default=128, help="Limits.memory_bytes, in MiB (default: %(default)s)")
    parser.add_argument("--host-memory-mb", type=int, default=1024,
                        help="safety net: a probe's process tree is killed past this RSS (default: %(default)s)")
    parser.add_argument("--out", default="results", help="folder for the results file (default: %(default)s)")
    parser.add_argument("--base-image", default=None, help="as for `run`")
    parser.add_argument("--run-id", default=None, help="label value for this run's containers")
    parser.set_defaults(handler=run)


def _plan(args, run_id: str):
    from harness.backends import parse_backend_names
    from harness.containment import WORKLOADS
    from harness.containment.matrix import MIB, Plan, default_limits

    try:
        backends = parse_backend_names(args.backends)
    except ValueError as error:
        raise UsageError(str(error)) from None
    names = list(WORKLOADS) if args.workloads.strip() == "all" else [
        n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        raise UsageError(f"unknown hostile worker(s) {', '.join(unknown) or '(none)'}; known: {', '.join(WORKLOADS)}, all")
    if args.timeout <= 0 or args.memory_mb <= 0 or args.host_memory_mb <= args.memory_mb:
        raise UsageError("--timeout and --memory-mb must be positive, and --host-memory-mb larger than --memory-mb")
    return Plan(backends=backends, workloads=list(dict.fromkeys(names)),
                limits=default_limits(args.timeout, args.memory_mb),
                host_memory_bytes=args.host_memory_mb * MIB, run_id=run_id, base_image=args.base_image)


def run(args) -> int:
    from harness.measure.cleanup import clean_up_run
    from harness.containment.bait import Bait
    from harness.containment.host import become_subreaper
    from harness.containment.matrix import backend_status, finish, new_record, run_pair
    from harness.containment.record import save
    from harness.containment.render import cell, to_markdown
    from harness.measure.progress import note

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id = args.run_id or f"contain-{stamp}-{uuid.uuid4().hex[:8]}"
    plan = _plan(args, run_id)
    statuses = {name: backend_status(name, plan) for name in plan.backends}
    if not any(status.available for status in statuses.values()):
        raise UsageError("no requested backend can run here: "
                         + "; ".join(f"{name}: {status.reason}" for name, status in statuses.items()))
    out_dir = output_folder(args.out)

    become_subreaper()
    record = new_record(plan)
    record.backends = statuses
    status = "interrupted"
    from harness.commands.output import _raise_keyboard_interrupt

    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    bait = Bait()
    try:
        note(f"isobench contain: {', '.join(plan.workloads)} on {', '.join(plan.backends)} (run {run_id})")
        for name, backend in statuses.items():
            if not backend.available:
                print(f"  {name}: skipped ({backend.reason})", file=sys.stderr, flush=True)
        for name in [name for name, backend in statuses.items() if backend.available]:
            for workload in plan.workloads:
                pair = run_pair(name, workload, plan, bait)
                record.pairs.append(pair)
                print(f"  {name:<20} {workload:<10} {cell(pair)}", file=sys.stderr, flush=True)
        status = "complete"
    except KeyboardInterrupt:
        print("isobench: interrupted; saving the pairs measured so far", file=sys.stderr)
    except Exception:
        status = "error"  # saved with the pairs so far, then the error is shown
        raise
    finally:
        # No second Ctrl-C in the middle of cleaning up and saving.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            bait.close()
            leftovers = clean_up_run(run_id, plan.backends, settle=status != "complete")
            if leftovers:
                print(f"isobench: removed what the run left behind: {', '.join(leftovers)}", file=sys.stderr)
            path = save(finish(record, status), out_dir, stamp)
        finally:
            signal.signal(signal.SIGINT, interrupt)
            signal.signal(signal.SIGTERM, previous)

    print(to_markdown(record), end="")
    print(f"\nresults: {path} (status: {status})")
    if status == "interrupted":
        return EXIT_INTERRUPTED
    if any(not p.tried and p.run.setup_error for p in record.pairs):
        return EXIT_FAILED
    if any(not s.available for s in record.backends.values()):
        return EXIT_SKIPPED
    return EXIT_OK
