"""`report`: report.md, report.html and their plots from a results file (with
--containment, the hostile-worker grid; with --baseline, what changed)."""

from __future__ import annotations

from pathlib import Path

from harness.commands.output import output_folder
from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write report.md, report.html and their plots from a results file")
    parser.add_argument("results", help="results file written by `run`")
    parser.add_argument("--baseline", default=None, metavar="OLD",
                        help="an older results file, or a folder of them: adds what changed since")
    parser.add_argument("--containment", default=None, metavar="FILE",
                        help="a containment results file (`python -m harness contain`): adds the hostile-worker grid")
    parser.add_argument("--workloads", default=None, metavar="FILE",
                        help="a workload-set file (`run --workload all`): adds \"Beyond hello\" with the bundle-size "
                             "sweep (RESULTS may itself be one)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for the report (default: report/<results file name>)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from harness.commands.compare import load_baselines
    from harness.containment.record import load as load_containment
    from harness.report import build_report
    from harness.results.store import ResultsError, load_set

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
