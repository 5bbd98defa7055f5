"""The report's "At scale" section: cold-start storms (time to the last
answer against the burst size, log-log, and a table per burst) and
open-loop load (latency against offered load, the floor beside it, and a
saturation table), from the summary's `storm` and `load` entries
(harness/analysis/storm.py, harness/analysis/load.py)."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.load import LoadSummary
from harness.analysis.start_rate import FIRECRACKER_PER_CORE, StartRateSummary
from harness.analysis.storm import StormSummary
from harness.report import fmt
from harness.report.data import ReportData
from harness.report.style import STYLE, WIDTH, log_axis, save


def _storm_rows(data: ReportData) -> list[tuple[str, StormSummary]]:
    return [(name, data.storm(name)) for name in data.measured if data.storm(name)]


def _served_style(data: ReportData, name: str, served: str) -> dict:
    """A backend's line: its colour; solid when its starts overlap, dotted when served one at a time."""
    return dict(color=data.colour(name), marker="o", linewidth=1.8, linestyle="-" if served == "at once" else ":")


def _served_legend(fig, data: ReportData, rows) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], **_served_style(data, name, entry.served),
                      label=name + ("" if entry.served == "at once" else " (one at a time)"))
               for name, entry, _ in rows]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=9.5)


def storm(data: ReportData, folder: Path) -> str | None:
    """Time to the last answer and the median instance's start against N (log-log), one line per backend."""
    import matplotlib.pyplot as plt

    rows = [(name, entry, [b for b in entry.bursts if b.last_answer_ms]) for name, entry in _storm_rows(data)]
    rows = [row for row in rows if row[2]]
    if not rows:
        return None
    sizes = sorted({b.n for _, _, bursts in rows for b in bursts})
    with plt.rc_context(STYLE):
        fig, (last, tail) = plt.subplots(1, 2, figsize=(WIDTH, 4.8), layout="constrained")
        for name, entry, bursts in rows:
            style = _served_style(data, name, entry.served)
            last.plot([b.n for b in bursts], [b.last_answer_ms.value for b in bursts], **style)
            tails = [(b.n, b.start_p50_ms.value) for b in entry.bursts if b.start_p50_ms]
            if tails:
                tail.plot(*zip(*tails), **style)
            if entry.bound == "failures":
                failed = entry.bursts[-1]
                if failed.start_p50_ms:
                    tail.plot([failed.n], [failed.start_p50_ms.value], marker="X", markersize=11,
                              color=data.colour(name), markeredgecolor="black")
        for ax in (last, tail):
            log_axis(ax, "x")
            log_axis(ax, "y")
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.xaxis.set_minor_locator(plt.NullLocator())
            ax.set_xlabel("N instances requested at the same moment (log scale)")
        last.set_ylabel("release to the last answer, ms (log scale)")
        last.set_title("Time until every instance answered", loc="left")
        tail.set_ylabel("release to an instance's answer, median, ms (log scale)")
        tail.set_title("The median instance of the burst", loc="left")
        _served_legend(fig, data, rows)
        return save(fig, folder, "storm.png")


def _load_rows(data: ReportData) -> list[tuple[str, LoadSummary]]:
    return [(name, data.load(name)) for name in data.measured if data.load(name)]


def load(data: ReportData, folder: Path) -> str | None:
    """p50 and p99 against the offered rate on one warm instance (log-log), the floor in grey."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = [(name, entry.pool(1)) for name, entry in _load_rows(data) if entry.pool(1)]
    if not rows:
        return None
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.8), layout="constrained")
        for ax, key, title in zip(axes, ("p50", "p99"), ("Median latency", "p99 latency")):
            floor = {p.offered_rps: p.floor[key].us for _, pool in rows for p in pool.points if key in p.floor}
            points = sorted(floor.items())
            if points:
                ax.plot(*zip(*points), color="#999999", linestyle="--", marker=".", linewidth=1.2)
            for name, pool in rows:
                points = [(p.offered_rps, p.percentiles[key].us) for p in pool.points if key in p.percentiles]
                if points:
                    ax.plot(*zip(*points), color=data.colour(name), marker="o", linewidth=1.8)
                    gone = [(p.offered_rps, p.percentiles[key].us) for p in pool.points
                            if p.saturated and key in p.percentiles]
                    if gone:
                        ax.plot(*zip(*gone), linestyle="", marker="X", markersize=10, color=data.colour(name),
                                markeredgecolor="black")
            log_axis(ax, "x")
            log_axis(ax, "y")
            ax.set_xlabel("offered req/s, one warm instance (log scale)")
            ax.set_ylabel(f"{key}, intended arrival to answer, µs (log)")
            ax.set_title(title, loc="left")
        handles = [Line2D([], [], color=data.colour(name), marker="o", linewidth=1.8, label=name) for name, _ in rows]
        handles += [Line2D([], [], color="#999999", linestyle="--", marker=".", label="floor (null call)"),
                    Line2D([], [], linestyle="", marker="X", color="grey", markeredgecolor="black", markersize=9,
                           label="saturated")]
        fig.legend(handles=handles, loc="outside lower center", ncol=5, frameon=False, fontsize=9.5)
        return save(fig, folder, "load.png")


def _start_rate_rows(data: ReportData) -> list[tuple[str, StartRateSummary]]:
    return [(name, data.start_rate(name)) for name in data.measured if data.start_rate(name)]


def start_rate(data: ReportData, folder: Path) -> str | None:
    """p99 against the arrival rate (log-log), and p99 over the lone start with the bound as a line."""
    import matplotlib.pyplot as plt

    rows = [(name, entry, [r for r in entry.rates if r.p99_ms]) for name, entry in _start_rate_rows(data)]
    rows = [row for row in rows if row[2] and row[1].single_start_ms]
    if not rows:
        return None
    with plt.rc_context(STYLE):
        fig, (absolute, relative) = plt.subplots(1, 2, figsize=(WIDTH, 4.8), layout="constrained")
        for name, entry, rates in rows:
            style = _served_style(data, name, entry.served)
            absolute.plot([r.rate for r in rates], [r.p99_ms.value for r in rates], **style)
            relative.plot([r.rate for r in rates], [r.p99_ms.value / entry.single_start_ms.value for r in rates],
                          **style)
        factor = rows[0][1].bound_factor
        relative.axhline(factor, color="#555555", linestyle="--", linewidth=1.2)
        for ax in (absolute, relative):
            log_axis(ax, "x")
            ax.set_xlabel("cold starts requested per second, Poisson (log scale)")
        log_axis(absolute, "y")
        relative.set_ylim(bottom=0)  # a ratio near 1 to a few: linear, so its ticks read plainly
        absolute.set_ylabel("p99, intended arrival to first answer, ms (log)")
        absolute.set_title("p99 start latency against the start rate", loc="left")
        relative.set_ylabel("p99 over the lone cold start (x)")
        relative.set_title(f"The bound: {factor:g} times the lone start", loc="left")
        _served_legend(fig, data, rows)
        return save(fig, folder, "start_rate.png")


PLOTS = {"storm": storm, "start_rate": start_rate, "load": load}


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
        lines += [f"![Time to the last answer and the median instance's start against the burst size]({plots['storm']})", ""]
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


def load_lines(data: ReportData, plots: dict) -> list[str]:
    rows = _load_rows(data)
    if not rows:
        return []
    lines = ["### Open-loop load", ""]
    if "load" in plots:
        lines += [f"![p50 and p99 latency against offered load, with the harness's floor]({plots['load']})", ""]
    lines += ["Requests arrive as a Poisson process at the offered rate, whatever the backend does, and queue for a "
              "pool of warm instances; each is timed from its intended arrival to its answer, so a stall counts "
              "for every request that arrived during it (coordinated omission corrected, as wrk2 does). The floor "
              "is the same generator and queue with a call that does nothing; a percentile within 10% of the "
              "floor's is shown as \"at the floor\". The load keeps the CPUs awake by itself.", "",
              "| backend | pool | saturation, req/s | per core | lowest rate saturated | p99 at the highest rate kept up, µs "
              "| × floor |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, entry in rows:
        for pool in entry.pools:
            kept = [p for p in pool.points if not p.saturated]
            gone = next((p.offered_rps for p in pool.points if p.saturated), None)
            best = kept[-1] if kept else None
            own = best.own("p99") if best else None
            p99 = (fmt.number(own.us) if own else "at the floor") if best else "–"
            rate = f" (at {best.offered_rps:g} req/s)" if best else ""
            lines.append(f"| {name} | {pool.pool} | {fmt.number(pool.saturation_rps)} | {fmt.number(pool.per_core_rps)} "
                         f"| {f'{gone:g}' if gone else 'none'} | {p99}{rate} "
                         f"| {fmt.ratio(best.over_floor('p99')) if best else '–'} |")
    return lines + [""]


def start_rate_lines(data: ReportData, plots: dict) -> list[str]:
    rows = _start_rate_rows(data)
    if not rows:
        return []
    factor = rows[0][1].bound_factor
    lines = ["### Sustained start rate", ""]
    if "start_rate" in plots:
        lines += [f"![p99 start latency against the start rate, and over the lone start]({plots['start_rate']})", ""]
    lines += ["Requests arrive as a Poisson process; each is served by a new instance, stopped after its answer, "
              "and timed from its intended arrival to the first answer, so a request that waited for a free "
              f"server counts its wait. The bound is {factor:g} times the lone cold start measured in the same "
              "sweep; the sustained rate is the highest rate of the ladder at which every request was answered "
              "and the p99 stayed within it (median over trials; \"≥\" where a trial passed the ladder's last "
              "rate). Where a level's p99 was past the bound, the same rate was run with null starts through the "
              "same generator and servers, and the level was judged against the bound plus that p99 (the harness's "
              "own tail); \"on the floor\" marks a rate that passed only by it. "
              f"Firecracker publishes {FIRECRACKER_PER_CORE:g} micro-VMs a second per core.", "",
              "| backend | served | lone start, ms | p99 at the sustained rate, ms | sustained starts/s | per core "
              "| stopped because |", "|---|---|---:|---:|---:|---:|---|"]
    for name, entry in rows:
        rate = entry.sustained_median_rps
        at = entry.rate(rate) if rate else None
        shown = (("≥ " if entry.at_least else "") + fmt.number(rate)) if rate else "none"
        if entry.trial_range_rps:
            shown += " (trials {}–{})".format(*map(fmt.number, entry.trial_range_rps))
        if at and at.on_the_floor:
            shown += f" (on the floor in {at.on_the_floor} of {at.trials})"
        lines.append(f"| {name} | {entry.served} | {fmt.number(entry.single_start_ms.value) if entry.single_start_ms else '–'} "
                     f"| {fmt.number(at.p99_ms.value) if at and at.p99_ms else '–'} | {shown} "
                     f"| {fmt.number(entry.per_core_rps) if rate else '–'} | {fmt.cell(entry.stopped_because)} |")
    return lines + [""]


def section(data: ReportData, plots: dict) -> list[str]:
    """The "At scale" section of report.md."""
    lines = storm_lines(data, plots) + start_rate_lines(data, plots) + load_lines(data, plots)
    return ["## At scale", "", *lines] if lines else []
