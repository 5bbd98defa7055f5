"""The report's "At scale" section: cold-start storms (time to the last
answer against the burst size, log-log, and a table per burst), from the
summary's `storm` entries (harness/analysis/storm.py)."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.storm import StormSummary
from harness.report import fmt
from harness.report.data import ReportData
from harness.report.style import STYLE, WIDTH, log_axis, save


def _storm_rows(data: ReportData) -> list[tuple[str, StormSummary]]:
    return [(name, data.storm(name)) for name in data.measured if data.storm(name)]


def storm(data: ReportData, folder: Path) -> str | None:
    """Time to the last answer and start p99 against N (log-log), one line per backend."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = [(name, entry, [b for b in entry.bursts if b.last_answer_ms]) for name, entry in _storm_rows(data)]
    rows = [row for row in rows if row[2]]
    if not rows:
        return None
    sizes = sorted({b.n for _, _, bursts in rows for b in bursts})
    with plt.rc_context(STYLE):
        fig, (last, tail) = plt.subplots(1, 2, figsize=(WIDTH, 4.8), layout="constrained")
        for name, entry, bursts in rows:
            style = dict(color=data.colour(name), marker="o", linewidth=1.8,
                         linestyle="-" if entry.served == "at once" else ":")
            last.plot([b.n for b in bursts], [b.last_answer_ms.value for b in bursts], **style)
            tails = [(b.n, b.start_p99_ms.value) for b in entry.bursts if b.start_p99_ms]
            if tails:
                tail.plot(*zip(*tails), **style)
            if entry.bound == "failures":
                failed = entry.bursts[-1]
                if failed.start_p99_ms:
                    tail.plot([failed.n], [failed.start_p99_ms.value], marker="X", markersize=11,
                              color=data.colour(name), markeredgecolor="black")
        for ax in (last, tail):
            log_axis(ax, "x")
            log_axis(ax, "y")
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.xaxis.set_minor_locator(plt.NullLocator())
            ax.set_xlabel("N instances requested at the same moment (log scale)")
        last.set_ylabel("release to the last answer, ms (log scale)")
        last.set_title("Time until every instance answered", loc="left")
        tail.set_ylabel("release to an instance's answer, p99, ms (log scale)")
        tail.set_title("p99 start latency within the burst", loc="left")
        handles = [Line2D([], [], color=data.colour(name), marker="o", linewidth=1.8,
                          linestyle="-" if entry.served == "at once" else ":",
                          label=f"{name}" + ("" if entry.served == "at once" else " (one at a time)"))
                   for name, entry, _ in rows]
        fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=9.5)
        return save(fig, folder, "storm.png")


PLOTS = {"storm": storm}


def _burst_cell(entry: StormSummary, n: int) -> str:
    burst = entry.burst(n)
    if burst is None:
        return "–"
    last = fmt.number(burst.last_answer_ms.value) if burst.last_answer_ms else "–"
    p99 = fmt.number(burst.start_p99_ms.value) if burst.start_p99_ms else "–"
    failed = f" ({burst.failed} of {burst.requested} failed)" if burst.failed else ""
    return f"{last} · {p99}{failed}"


def storm_lines(data: ReportData, plots: dict) -> list[str]:
    rows = _storm_rows(data)
    if not rows:
        return []
    sizes = sorted({b.n for _, entry in rows for b in entry.bursts})
    lines = ["### Cold-start storms", ""]
    if "storm" in plots:
        lines += [f"![Time to the last answer and p99 start latency against the burst size]({plots['storm']})", ""]
    lines += ["N new instances are requested at the same moment; each is timed from the burst's release to its own "
              "first answer. Cells: the time until the last of the N answered · the p99 of the instances' own "
              "times, both in ms (medians over the trials that ran the burst). Every instance is stopped before "
              "the next burst.", "",
              "| backend | served | " + " | ".join(f"N = {n}" for n in sizes) + " | stopped because |",
              "|---|---|" + "---:|" * len(sizes) + "---|"]
    for name, entry in rows:
        cells = " | ".join(_burst_cell(entry, n) for n in sizes)
        lines.append(f"| {name} | {entry.served} | {cells} | {fmt.cell(entry.stopped_because)} |")
    lines.append("")
    causes = sorted({cause for _, entry in rows for b in entry.bursts for cause in b.failures})
    if causes:
        lines += [f"- Failures by cause: " + "; ".join(
            f"{name}: " + ", ".join(f"{count} {cause}" for b in entry.bursts for cause, count in b.failures.items())
            for name, entry in rows if any(b.failures for b in entry.bursts)) + ".", ""]
    return lines


def section(data: ReportData, plots: dict) -> list[str]:
    """The "At scale" section of report.md."""
    lines = storm_lines(data, plots)
    return ["## At scale", "", *lines] if lines else []
