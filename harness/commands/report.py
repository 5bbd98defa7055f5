"""`report`: report.md and its plots from a results file (and, with
--baseline, a comparison with an older one)."""

from __future__ import annotations

from pathlib import Path

from harness.commands.output import output_folder
from harness.errors import EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write report.md and its plots from a results file")
    parser.add_argument("results", help="results JSON written by `run`")
    parser.add_argument("--baseline", default=None, metavar="OLD.json",
                        help="an older results file: adds a section comparing each figure with it")
    parser.add_argument("--containment", default=None, metavar="FILE",
                        help="a containment results file (`python -m harness contain`): adds the isolation matrix")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for report.md and the PNGs (default: report/<results file name>)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from harness.containment.record import load as load_containment
    from harness.report import build_report
    from harness.results.store import ResultsError, load

    try:
        results = load(args.results)
        baseline = load(args.baseline) if args.baseline else None
        containment = load_containment(args.containment) if args.containment else None
    except ResultsError as error:
        raise UsageError(str(error)) from None
    out_dir = output_folder(args.out or Path("report") / Path(args.results).stem)
    path = build_report(results, out_dir, baseline=baseline, containment=containment)
    print(f"report: {path}")
    return EXIT_OK
