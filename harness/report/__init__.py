"""The report: `python -m harness report RESULTS.json` writes report.md and its
PNG plots. It reads the results file only, so any stored results file can be
turned into a report later.

- data.py: what the report reads from the results, in its units
- colours.py: one fixed colour per backend
- plots.py: one function per plot (matplotlib, Agg)
- anchors.py: the published figures, as data
- headline.py: the headline sentence, computed
- caveats.py, methodology.py, conditions.py, markdown.py: the text
- containment.py: the isolation-matrix section (`--containment FILE`, from `contain`)
"""

from __future__ import annotations

from pathlib import Path

from harness.results.store import Results, load, write_atomic

REPORT_FILE = "report.md"


def build_report(results: Results | str | Path, out_dir: str | Path, baseline: Results | str | Path | None = None,
                 containment=None) -> Path:
    """Write out_dir/report.md and its plots; return the path of report.md.

    `baseline` adds the comparison section (harness.analysis.compare). `containment`
    (what `--containment FILE` will pass) adds the isolation-matrix section
    through harness/report/containment.py. Raises harness.results.store.ResultsError
    for an unusable results file, before anything is written.
    """
    from harness.report import markdown, plots
    from harness.report.data import report_data

    results = results if isinstance(results, Results) else load(results)
    if baseline is not None and not isinstance(baseline, Results):
        baseline = load(baseline)
    data = report_data(results)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = plots.draw_all(data, folder)
    for stale in set(plots.PLOT_FILES) - set(drawn.values()):  # from an earlier report in this folder
        (folder / stale).unlink(missing_ok=True)
    text = markdown.render(data, drawn, folder, baseline=baseline, containment=containment)
    return write_atomic(folder / REPORT_FILE, text)
