"""`report`: report.md, report.html and their plots from a results file (with
--containment, the hostile-worker grid; with --baseline, what changed), or
from a fleet folder (`fleet`), the cross-machine report (harness/report/fleet.py)."""

from __future__ import annotations

from pathlib import Path

from harness.commands.output import output_folder
from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write report.md, report.html and their plots from a results file "
                                   "(or a fleet folder)")
    parser.add_argument("results", help="results file written by `run`, or a fleet folder written by `fleet`")
    parser.add_argument("--baseline", default=None, metavar="OLD",
                        help="an older results file, or a folder of them: adds what changed since")
    parser.add_argument("--containment", default=None, metavar="FILE",
                        help="a containment results file (`python -m harness contain`): adds the hostile-worker grid")
    parser.add_argument("--workloads", default=None, metavar="FILE",
                        help="a workload-set file (`run --workload all`): adds \"Beyond hello\" with the bundle-size "
                             "sweep (RESULTS may itself be one)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for the report (default: report/<results file name>, or "
                             "report/fleet-<fleet id> for a fleet folder)")
    parser.set_defaults(handler=run)


def _fleet(args) -> int:
    """The cross-machine report of a fleet folder."""
    from harness.fleet.manifest import load_manifest
    from harness.report.fleet import build_fleet_report
    from harness.results.store import ResultsError

    if args.baseline or args.containment or args.workloads:
        raise UsageError("--baseline, --containment and --workloads take a results file, not a fleet folder")
    try:
        manifest = load_manifest(args.results)
        if not manifest.measured:
            nodes = "; ".join(f"{n.name} {n.status}" for n in manifest.nodes) or "it lists no node"
            raise UsageError(f"{args.results}: fleet {manifest.fleet_id} has no measured node ({nodes})")
        out_dir = output_folder(args.out or Path("report") / f"fleet-{manifest.fleet_id}")
        path = build_fleet_report(Path(args.results), out_dir)
    except ResultsError as error:
        raise UsageError(str(error)) from None
    print(f"report: {path} and {path.with_name('report.html')}")
    return EXIT_OK


def run(args) -> int:
    from harness.commands.compare import load_baselines
    from harness.containment.record import load as load_containment
    from harness.fleet.manifest import is_fleet
    from harness.report import build_report
    from harness.results.store import ResultsError, load_set

    if Path(args.results).is_dir() and is_fleet(args.results):
        return _fleet(args)

    try:
        given = load_set(args.results)
        results = given.primary
        workloads = load_set(args.workloads) if args.workloads else given
        baseline = load_baselines(args.baseline) if args.baseline else None
        containment = load_containment(args.containment) if args.containment else None
    except ResultsError as error:
        raise UsageError(str(error)) from None
    name = Path(args.results).name.removesuffix(".gz").removesuffix(".json")
    out_dir = output_folder(args.out or Path("report") / name)
    path = build_report(results, out_dir, baseline=baseline, containment=containment, workloads=workloads)
    print(f"report: {path} and {path.with_name('report.html')}")
    return EXIT_OK
