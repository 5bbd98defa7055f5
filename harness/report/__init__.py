"""The report: `python -m harness report RESULTS` writes report.md, report.html
(the same, self-contained) and their plots. It reads a results file (and
optionally a containment record and a baseline) only, so any stored run can
be reported again later.

- data.py: what the report reads from the run, in its units, grouped by family
- style.py: the shared plotting style; plots.py and scale.py: one function per plot
- headline.py: the headline and "What this means", computed
- claims.py: published figures beside the measurement of the same quantity
- workloads.py: every workload of a workload set, with the bundle-size sweep
- containment.py: the hostile-worker grid; methodology.py, conditions.py: collapsed detail, environment
- markdown.py: the page; html.py: the same page as one self-contained HTML file
"""

from __future__ import annotations

from pathlib import Path

from harness.results.model import Run, WorkloadSet
from harness.results.store import load, write_atomic

REPORT_FILE, HTML_FILE = "report.md", "report.html"


def build_report(run: Run | str | Path, out_dir: str | Path, baseline=None, containment=None,
                 workloads: WorkloadSet | None = None) -> Path:
    """Write out_dir/report.md, report.html and the plots; return report.md's path.

    `baseline` (a Run, or a list of Runs) adds "Since the baseline"; `containment`
    (a containment record) adds the hostile-worker grid; `workloads` (a set of
    several workloads' runs) adds "Beyond hello". A results file that cannot
    be read raises ResultsError before anything is written."""
    from harness.report import html, markdown, plots
    from harness.report import workloads as workloads_section
    from harness.report.data import report_data

    run = run if isinstance(run, Run) else load(run)
    data = report_data(run, containment)
    view = workloads_section.WorkloadView(workloads) if workloads is not None and len(workloads.names) > 1 else None
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = {**plots.draw_all(data, folder), **workloads_section.draw(view, folder)}
    for stale in set(plots.PLOT_FILES) - set(drawn.values()):  # from an earlier report in this folder
        (folder / stale).unlink(missing_ok=True)
    text = markdown.render(data, drawn, baseline=baseline, workloads=view)
    write_atomic(folder / HTML_FILE, html.render(text, folder))
    return write_atomic(folder / REPORT_FILE, text)
