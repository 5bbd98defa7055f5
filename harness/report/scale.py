"""Density and concurrency in the report: two plots and their sections, from
the summary's `density` and `concurrency` entries (harness/analysis/density.py,
harness/analysis/concurrency.py)."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.concurrency import ConcurrencySummary
from harness.analysis.density import DensitySummary
from harness.report import fmt
from harness.report.data import ReportData
from harness.report.style import STYLE, WIDTH, log_axis, save

GUIDE_PER_GIB = (10, 100, 1_000, 10_000)  # faint lines of constant instances per GiB


def _density_rows(data: ReportData) -> list[tuple[str, DensitySummary]]:
    return [(name, data.density(name)) for name in data.measured if data.density(name)]


def _concurrency_rows(data: ReportData) -> list[tuple[str, ConcurrencySummary]]:
    return [(name, data.concurrency(name)) for name in data.measured if data.concurrency(name)]


def density(data: ReportData, folder: Path) -> str | None:
    """Memory against N for every backend (log-log), with instances per GiB."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.lines import Line2D

    series = []
    for name, entry in _density_rows(data):
        points = [(p.n, p.total_mb) for p in entry.curve if p.total_mb and p.total_mb > 0]
        if points:
            series.append((name, entry, points))
    if not series:
        return None
    with plt.rc_context(STYLE):
        fig, (total, per_gib) = plt.subplots(1, 2, figsize=(WIDTH, 5.2), layout="constrained")
        all_n = [n for _, _, points in series for n, _ in points]
        all_mb = [mb for _, _, points in series for _, mb in points]
        span = np.array([min(all_n), max(all_n)], dtype=float)
        top = max(all_mb) * 3
        for per in GUIDE_PER_GIB:
            total.plot(span, span * 1024 / per, color="#bbbbbb", linewidth=0.8, linestyle=":", zorder=1)
            at = min(span[1], top / 2 * per / 1024)  # label where the line is still inside the plot
            if at > span[0]:
                total.annotate(f"{per:,}/GiB", (at, at * 1024 / per), fontsize=8.5, color="#888888",
                               xytext=(3, 0), textcoords="offset points", va="center")
        for name, entry, points in series:
            colour = data.colour(name)
            n, mb = zip(*points)
            total.plot(n, mb, marker="o", color=colour, linewidth=1.8, zorder=3)
            if entry.stopped_early:
                total.plot([n[-1]], [mb[-1]], marker="X", markersize=11, color=colour, markeredgecolor="black",
                           zorder=4)
            marginal = [(p.n, p.instances_per_gib) for p in entry.curve if p.instances_per_gib]
            if marginal:
                per_gib.plot(*zip(*marginal), marker="o", color=colour, linewidth=1.8)
        log_axis(total, "x")
        log_axis(total, "y")
        total.set_ylim(min(all_mb) / 2, top)
        total.set_xlabel("N instances alive at once (log scale)")
        total.set_ylabel("memory the N instances add, MiB (log scale)")
        total.set_title("Memory against N", loc="left")
        log_axis(per_gib, "x")
        if per_gib.lines:
            log_axis(per_gib, "y")
        per_gib.set_xlabel("N instances alive at once (log scale)")
        per_gib.set_ylabel("instances per GiB at the margin (log scale)")
        per_gib.set_title("Instances per GiB, from the last step to N", loc="left")
        handles = [Line2D([], [], color=data.colour(name), marker="o", linewidth=1.8,
                          label=f"{name} ({entry.memory_kind or '?'}): {fmt.number(entry.instances_per_gib)}/GiB")
                   for name, entry, _ in series]
        if any(entry.stopped_early for _, entry, _ in series):
            handles.append(Line2D([], [], marker="X", linestyle="", color="grey", markeredgecolor="black",
                                  markersize=10, label="stopped early (see the table)"))
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=9.5)
        return save(fig, folder, "density.png")


def concurrency(data: ReportData, folder: Path) -> str | None:
    """Throughput and p99 against the number of concurrent callers."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = _concurrency_rows(data)
    lines = []  # (name, mode, levels, figures, dashed)
    for name, entry in rows:
        for index, (mode, figures) in enumerate(entry.modes()):
            lines.append((name, mode, figures.measured(), figures, index > 0))
    lines = [line for line in lines if line[2]]
    if not lines:
        return None
    cores = max(entry.cores or 0 for _, entry in rows)
    levels = sorted({k for _, _, ks, _, _ in lines for k in ks})
    with plt.rc_context(STYLE):
        fig, (rate, tail) = plt.subplots(1, 2, figsize=(WIDTH, 4.8), layout="constrained")
        for name, mode, ks, figures, dashed in lines:
            style = dict(color=data.colour(name), marker="o", linewidth=1.8, linestyle="--" if dashed else "-")
            rate.plot(ks, [figures.levels[k].throughput_rps for k in ks], **style)
            tail.plot(ks, [figures.levels[k].p99_us for k in ks], **style)
        for ax in (rate, tail):
            log_axis(ax, "x")
            ax.set_xticks(levels, [str(k) for k in levels])
            ax.xaxis.set_minor_locator(plt.NullLocator())
            ax.set_xlabel("concurrent callers (log scale)")
            if cores and levels[-1] > cores:
                ax.axvspan(cores * 1.2, levels[-1] * 1.3, color="#eeeeee", zorder=0)  # from just past `cores`
            ax.set_xlim(levels[0] / 1.3, levels[-1] * 1.3)
        log_axis(rate, "y")
        rate.set_ylabel("calls per second, all callers (log scale)")
        rate.set_title("Throughput", loc="left")
        log_axis(tail, "y")
        tail.set_ylabel("p99 latency per call, µs (log scale)")
        tail.set_title("p99 latency", loc="left")
        handles = [Line2D([], [], color=data.colour(name), marker="o", linewidth=1.8,
                          linestyle="--" if dashed else "-", label=f"{name}, {mode}")
                   for name, mode, _, _, dashed in lines]
        if cores and levels[-1] > cores:
            handles.append(Patch(color="#eeeeee", label=f"more callers than the {cores} cores: mostly queueing"))
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, fontsize=9.5)
        return save(fig, folder, "concurrency.png")


PLOTS = {"density": density, "concurrency": concurrency}


def section(data: ReportData, plots: dict) -> list[str]:
    """The "Density" and "Concurrency" sections of report.md."""
    lines = []
    rows = _density_rows(data)
    if rows:
        lines += ["## Density", ""]
        if "density" in plots:
            lines += [f"![Memory against N instances, log-log, and instances per GiB]({plots['density']})", ""]
        lines += ["How many instances one GiB holds, from the memory one more instance adds (least squares over "
                  "N ≥ 2), counted as for memory per instance. Each backend grows until its ladder ends or a limit "
                  "stops it, for the reason given.", "",
                  "| backend | memory counted | instances per GiB | MiB per added instance | largest N "
                  "| stopped because | growing, s |", "|---|---|---:|---:|---:|---|---:|"]
        for name, entry in rows:
            lines.append(f"| {name} | {entry.memory_kind or '–'} | {fmt.number(entry.instances_per_gib)} "
                         f"| {fmt.number(entry.marginal_mb)} | {entry.max_n_reached} "
                         f"| {fmt.cell(entry.stopped_because)} | {fmt.number(entry.growth_s)} |")
        lines.append("")
    rows = _concurrency_rows(data)
    if rows:
        levels = sorted({k for _, entry in rows for k in entry.primary.measured()})
        lines += ["## Concurrency", ""]
        if "concurrency" in plots:
            lines += [f"![Throughput and p99 latency against concurrent callers]({plots['concurrency']})", ""]
        heads = " | ".join(f"{k} caller{'' if k == 1 else 's'}: calls/s · p99 µs" for k in levels)
        lines += [f"| backend | mode | {heads} |",
                  f"|---|---|{'---:|' * len(levels)}"]
        notes = {}
        for name, entry in rows:
            for mode, figures in entry.modes():
                cells = [f"{fmt.number(figures.levels[k].throughput_rps)} · {fmt.number(figures.levels[k].p99_us)}"
                         if k in figures.measured() else "–" for k in levels]
                lines.append(f"| {name} | {mode} | {' | '.join(cells)} |")
                notes[mode] = figures.question
        lines.append("")
        lines += [f"- **{mode}**: {question}." for mode, question in notes.items() if question]
        callers = {entry.callers_are for _, entry in rows if entry.callers_are}
        note = next((entry.note for _, entry in rows if entry.note), "")
        if callers:
            lines.append(f"- The callers are {', '.join(sorted(callers))}; each call is timed from the request "
                         "leaving the caller to its answer; throughput is all calls over the time from the callers' "
                         "release to the last answer.")
        if note:
            lines.append(f"- {note}.")
        measured = {name for name, _ in rows}
        missing = [name for name in data.measured if name not in measured]
        failed = {name: line for name in missing for line in data.result(name).info.failures
                  if "concurrency" in line.split(": ")[:2]}  # "trial 3: concurrency: ..."
        unsupported = [name for name in missing if data.result(name).info.concurrency_modes == ()]
        unexplained = [name for name in missing if name not in failed and name not in unsupported]
        if unsupported:
            lines.append(f"- Not measured: {', '.join(unsupported)}. They declare no way to serve concurrent "
                         "callers: their instances are bound to one thread (see docs/backends.md).")
        lines += [f"- {name} failed: {fmt.cell(line)[:300]}" for name, line in failed.items()]
        if unexplained:
            lines.append(f"- No concurrency figures for {', '.join(unexplained)}; this results file does not "
                         "record why (docs/backends.md says which backends cannot serve concurrent callers).")
        lines.append("")
    return lines
