"""The report's plots, one function each. Every function takes the report
data and a folder, writes one PNG (matplotlib, Agg) and returns its file name,
or None when the results hold nothing to draw.

Conventions: each backend has one colour everywhere (colours.py); every axis
says its unit; values spanning decades get a log axis; figures are 10 inches
wide at 100 dpi, which GitHub shows at about 90% so 11-point text stays
readable.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from harness.report import anchors  # noqa: E402
from harness.report import scale as scale_plots  # noqa: E402  (density and concurrency)
from harness.report.data import MEMORY_KINDS, ReportData  # noqa: E402
from harness.results.store import write_atomic  # noqa: E402
from harness.analysis.stats import median_ci  # noqa: E402

WIDTH = 10.0
DPI = 100
STYLE = {
    "font.size": 11,
    "axes.titlesize": 12.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "savefig.facecolor": "white",
}
LOG_SPAN = 20.0  # max/min above this gets a log axis
# Light colours for phases (backends own the strong ones): Set3, then Pastel1 and Pastel2,
# leaving out those too pale to see on white.
PHASE_COLOURS = tuple(dict.fromkeys(
    matplotlib.colors.to_hex(colour)
    for name in ("Set3", "Pastel1", "Pastel2") for colour in matplotlib.colormaps[name].colors
    if 0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2] < 0.85))
PUBLISHED_STYLE = {anchors.CLAIM: dict(marker="D", color="#555555"),
                   anchors.MEASUREMENT: dict(marker="s", color="#000000")}


def _plain_number(value: float, _position=None) -> str:
    if value <= 0:
        return ""
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def log_axis(ax, which: str = "x") -> None:
    """A log axis labelled 0.01, 1, 10, 1,000 rather than 10^n."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())


def spans_decades(values) -> bool:
    values = [v for v in values if v and v > 0]
    return bool(values) and max(values) / min(values) > LOG_SPAN


def _denser_log_ticks(fig) -> None:
    """A log axis spanning less than 2.5 decades also gets 2 and 5 ticks, so it
    never shows a single labelled tick."""
    for ax in fig.axes:
        for axis, limits, scale in ((ax.xaxis, ax.get_xlim(), ax.get_xscale()),
                                    (ax.yaxis, ax.get_ylim(), ax.get_yscale())):
            low, high = sorted(limits)
            if scale == "log" and low > 0 and np.log10(high / low) < 2.5 \
                    and isinstance(axis.get_major_locator(), LogLocator):
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))


def _save(fig, folder: Path, name: str) -> str:
    _denser_log_ticks(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    write_atomic(folder / name, buffer.getvalue())
    return name


def wrap_label(label: str, width: int = 20) -> str:
    """Break a long backend label at '-', ' ' or '·' so the plot keeps its width."""
    lines, line = [], ""
    for piece in re.split(r"(?<=[-\s·])", label):
        if line and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
    lines.append(line.rstrip())
    return "\n".join(lines)


def text_colour(colour: str) -> str:
    """The backend's colour, darkened enough to read as text on white."""
    red, green, blue = matplotlib.colors.to_rgb(colour)
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    factor = min(1.0, 0.45 / luminance) if luminance > 0 else 1.0
    return matplotlib.colors.to_hex((red * factor, green * factor, blue * factor))


def _colour_ticklabels(ax, labels: list[str], colours: list[str], which: str = "y") -> None:
    ticks = ax.get_yticklabels() if which == "y" else ax.get_xticklabels()
    for tick, colour in zip(ticks, colours):
        tick.set_color(text_colour(colour))


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else (f"{value:.1f}" if value >= 10 else f"{value:.2f}")


# 1. cold start -------------------------------------------------------------------------------------------------

def cold_start(data: ReportData, folder: Path) -> str | None:
    rows = []  # (label, samples, colour, hollow)
    for name in data.measured:
        samples = data.cold_ms(name)
        if samples.size:
            rows.append((name, samples, data.colours[name], False))
        first = data.first_isolate_ms(name)
        if first.size:
            rows.append((f"{name}: first in a fresh process", first, data.colours[name], True))
    if not rows:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 1.6 + 0.85 * len(rows)), layout="constrained")
        rng = np.random.default_rng(0)
        everything = np.concatenate([samples for _, samples, _, _ in rows])
        for y, (label, samples, colour, hollow) in enumerate(rows):
            jitter = rng.uniform(-0.22, 0.22, samples.size)
            ax.scatter(samples, np.full(samples.size, y) + jitter, s=16, alpha=0.55, linewidths=0.8,
                       facecolors="none" if hollow else colour, edgecolors=colour, zorder=3)
            median = float(np.median(samples))
            ci = median_ci(samples)
            if ci:
                ax.add_patch(plt.Rectangle((ci[0], y - 0.34), ci[1] - ci[0], 0.68, color=colour, alpha=0.25,
                                           zorder=2, linewidth=0))
            ax.plot([median, median], [y - 0.38, y + 0.38], color="black", linewidth=2.2, zorder=4)
            text = f"{_ms(median)} ms" + (f"  [{_ms(ci[0])}–{_ms(ci[1])}]" if ci else "  (no CI: n too small)") \
                + f"  n={samples.size}"
            ax.annotate(text, (samples.max(), y), xytext=(8, 0), textcoords="offset points", va="center",
                        fontsize=10, color="#222222")
        log_axis(ax, "x")
        low, high = everything.min(), everything.max()
        ax.set_xlim(low / 1.6, high * 6)
        ax.set_yticks(range(len(rows)), [wrap_label(label) for label, _, _, _ in rows])
        _colour_ticklabels(ax, [], [colour for _, _, colour, _ in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("cold start, ms (log scale): fresh instance requested → first answer received")
        ax.set_title("Cold start, every sample", loc="left")
        legend = [Line2D([], [], marker="o", linestyle="", color="grey", alpha=0.6, label="one cold start"),
                  Line2D([], [], color="black", linewidth=2.2, label="median"),
                  Patch(color="grey", alpha=0.3, label="95% CI of the median")]
        fig.legend(handles=legend, loc="outside lower center", ncol=3, frameon=False)
        return _save(fig, folder, "cold_start.png")


# 2. cold-start phases -----------------------------------------------------------------------------------------

def cold_start_phases(data: ReportData, folder: Path) -> str | None:
    rows = []  # (label, colour, {phase: median ms})
    for name in data.measured:
        phases = data.phases_ms(name)
        if phases:
            rows.append((name, data.colours[name], {p: float(np.median(v)) for p, v in phases.items()}))
        first = data.phases_ms(name, first_isolate=True)
        if first:
            rows.append((f"{name}: first in a fresh process", data.colours[name],
                         {p: float(np.median(v)) for p, v in first.items()}))
    if not rows:
        return None
    phase_names = list(dict.fromkeys(phase for _, _, phases in rows for phase in phases))
    phase_colour = {phase: PHASE_COLOURS[i % len(PHASE_COLOURS)] for i, phase in enumerate(phase_names)}
    with plt.rc_context(STYLE):
        fig, (absolute, share) = plt.subplots(1, 2, figsize=(WIDTH, 2.0 + 0.8 * len(rows)), sharey=True,
                                              layout="constrained", gridspec_kw={"width_ratios": [1.35, 1]})
        for y, (label, _, phases) in enumerate(rows):
            total = sum(phases.values())
            left = 0.0
            for phase, value in phases.items():
                absolute.barh(y, value, left=left, color=phase_colour[phase], edgecolor="white", linewidth=0.6)
                share.barh(y, 100 * value / total, left=100 * left / total, color=phase_colour[phase],
                           edgecolor="white", linewidth=0.6)
                fraction = value / total
                if fraction >= 0.08:
                    text = f"{phase.replace('_', ' ')} {100 * fraction:.0f}%" if fraction >= 0.3 else \
                        f"{100 * fraction:.0f}%"
                    share.text(100 * (left + value / 2) / total, y, text, ha="center", va="center", fontsize=9.5)
                left += value
            absolute.annotate(f"{_ms(total)} ms", (total, y), xytext=(5, 0), textcoords="offset points",
                              va="center", fontsize=10)
        top = max(sum(phases.values()) for _, _, phases in rows)
        absolute.set_xlim(0, top * 1.22)
        absolute.set_yticks(range(len(rows)), [wrap_label(label) for label, _, _ in rows])
        _colour_ticklabels(absolute, [], [colour for _, colour, _ in rows])
        absolute.set_ylim(len(rows) - 0.5, -0.5)
        absolute.set_xlabel("ms (linear): median of each phase, stacked")
        share.set_xlim(0, 100)
        share.set_xlabel("share of the backend's own cold start, %")
        for ax in (absolute, share):
            ax.grid(axis="y", visible=False)
        absolute.set_title("Cold start, phase by phase", loc="left")
        handles = [Patch(color=phase_colour[p], label=p.replace("_", " ")) for p in phase_names]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5), frameon=False,
                   title="phase", title_fontsize=10)
        return _save(fig, folder, "cold_start_phases.png")


# 3. warm call --------------------------------------------------------------------------------------------------

def _ecdf(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(samples)
    return x, np.arange(1, x.size + 1) / x.size


def warm_call(data: ReportData, folder: Path) -> str | None:
    names = [name for name in data.measured if data.warm_us(name).size]
    if not names:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 6.2), layout="constrained")
        everything = []
        for name in names:
            colour = data.colours[name]
            warm, engine = data.warm_us(name), data.engine_us(name)
            x, y = _ecdf(warm)
            ax.step(x, y, where="post", color=colour, linewidth=1.8)
            p50, p99 = np.percentile(warm, [50, 99])
            ax.plot([p50], [0.5], marker="o", color=colour, markersize=8, markeredgecolor="black", zorder=5)
            ax.plot([p99], [0.99], marker="^", color=colour, markersize=9, markeredgecolor="black", zorder=5)
            everything.extend([x.min(), x.max()])
            if engine.size:
                x, y = _ecdf(engine)
                ax.step(x, y, where="post", color=colour, linewidth=1.6, linestyle="--")
                everything.extend([x.min(), x.max()])
        log_axis(ax, "x")
        ax.set_xlim(min(everything) / 2, max(everything) * 2)
        ax.set_ylim(0, 1.02)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 0.99], ["0", "0.25", "0.5 (p50)", "0.75", "0.99 (p99)"])
        ax.axhline(0.5, color="grey", linewidth=0.7, linestyle=":")
        ax.axhline(0.99, color="grey", linewidth=0.7, linestyle=":")
        ax.set_xlabel("µs per call (log scale)")
        ax.set_ylabel("fraction of calls ≤ x")
        ax.set_title("Warm call: end to end (solid) vs the handler's own time in the engine (dashed)", loc="left")
        handles = [Line2D([], [], color=data.colours[n], linewidth=2.5, label=n) for n in names]
        handles += [Line2D([], [], color="black", linewidth=1.8, label="end to end: request out → answer in"),
                    Line2D([], [], color="black", linewidth=1.6, linestyle="--",
                           label="in engine: the handler alone, JS clock"),
                    Line2D([], [], marker="o", linestyle="", color="white", markeredgecolor="black",
                           markersize=8, label="p50 of end to end"),
                    Line2D([], [], marker="^", linestyle="", color="white", markeredgecolor="black",
                           markersize=9, label="p99 of end to end")]
        fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=9.5)
        return _save(fig, folder, "warm_call.png")


def warm_call_breakdown(data: ReportData, folder: Path) -> str | None:
    """Per backend: in-engine, transport and warm-call medians side by side."""
    names = [name for name in data.measured if data.warm_us(name).size]
    if not names:
        return None
    parts = (("in engine", data.engine_us, 0.35), ("transport (no handler)", data.transport_us, 0.65),
             ("warm call, end to end", data.warm_us, 1.0))
    height = 0.26
    values = []
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 1.5 + 0.95 * len(names)), layout="constrained")
        for y, name in enumerate(names):
            colour = data.colours[name]
            for i, (label, getter, alpha) in enumerate(parts):
                samples = getter(name)
                if not samples.size:
                    continue
                median = float(np.median(samples))
                values.append(median)
                position = y + (i - 1) * height
                ax.barh(position, median, height=height * 0.92, color=colour, alpha=alpha, edgecolor=colour)
                ax.annotate(f"{label}: {median:.3g} µs", (median, position), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=9.5)
        log_axis(ax, "x")
        ax.set_xlim(min(values) / 3, max(values) * 40)
        ax.set_yticks(range(len(names)), [wrap_label(n) for n in names])
        _colour_ticklabels(ax, [], [data.colours[n] for n in names])
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("µs, median (log scale)")
        ax.set_title("Where a warm call's time goes: the gap from in engine to end to end is "
                     "transport and binding", loc="left", fontsize=11.5)
        return _save(fig, folder, "warm_call_breakdown.png")


# 4. memory -----------------------------------------------------------------------------------------------------

HATCHES = {"uss": "", "pss": "//", "cgroup": "..", "shim_pss": "xx", "v8_heap_physical": "\\\\"}


def memory(data: ReportData, folder: Path) -> str | None:
    rows = []  # (backend, kind, MiB)
    for name in data.measured:
        for kind, value in data.memory_per_instance_mib(name).items():
            rows.append((name, kind, value))
    if not rows:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 2.2 + 0.38 * len(rows) + 0.25 * len(data.measured)),
                               layout="constrained")
        positions, labels, y, previous = [], [], 0.0, None
        for name, kind, value in rows:
            if previous is not None and name != previous:
                y += 0.6
            previous = name
            colour = data.colours[name]
            ax.barh(y, value, height=0.8, color=colour, alpha=0.85, hatch=HATCHES.get(kind, ""),
                    edgecolor="white", linewidth=0.5)
            ax.annotate(f"{value:.3g} MiB  (N = {data.entry(name).get('memory_at_n')})", (value, y), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=9.5)
            positions.append(y)
            labels.append(wrap_label(f"{name} · {MEMORY_KINDS[kind]}", 24))
            y += 1
        values = [value for _, _, value in rows]
        if spans_decades(values):
            log_axis(ax, "x")
            ax.set_xlim(min(values) / 2, max(values) * 8)
            scale = "log scale"
        else:
            ax.set_xlim(0, max(values) * 1.35)
            scale = "linear"
        ax.set_yticks(positions, labels)
        _colour_ticklabels(ax, [], [data.colours[name] for name, _, _ in rows])
        ax.set_ylim(y - 0.4, -0.6)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"MiB per instance ({scale}): growth over the baseline with N instances alive, / N")
        ax.set_title("Memory per instance, by kind of figure (at the largest N of each sweep)", loc="left")
        kinds = list(dict.fromkeys(kind for _, kind, _ in rows))
        handles = [Patch(facecolor="#bbbbbb", hatch=HATCHES.get(kind, ""), edgecolor="white",
                         label=_kind_help(kind)) for kind in kinds]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=9.5)
        return _save(fig, folder, "memory.png")


def _kind_help(kind: str) -> str:
    return {
        "uss": "USS: private pages",
        "pss": "PSS: shared pages split among sharers",
        "cgroup": "cgroup: the container's memory cgroup",
        "shim_pss": "shim PSS: containerd-shim, outside the cgroup",
        "v8_heap_physical": "V8 heap: heap_stats(), heap only",
    }.get(kind, kind)


def memory_vs_n(data: ReportData, folder: Path) -> str | None:
    series = {}
    for name in data.measured:
        counts, totals = data.memory_steps_mib(name, "pss")
        if counts:
            series[name] = (np.asarray(counts, dtype=float), np.asarray(totals, dtype=float))
    if not series:
        return None
    with plt.rc_context(STYLE):
        fig, (total, each) = plt.subplots(1, 2, figsize=(WIDTH, 4.8), layout="constrained")
        for name, (counts, totals) in series.items():
            colour = data.colours[name]
            total.plot(counts, totals, marker="o", color=colour, linewidth=1.8, label=name)
            each.plot(counts, totals / counts, marker="o", color=colour, linewidth=1.8, label=name)
        counts = sorted({int(n) for c, _ in series.values() for n in c})
        for ax in (total, each):
            log_axis(ax, "x")
            ax.set_xticks(counts, [str(n) for n in counts])
            ax.xaxis.set_minor_locator(plt.NullLocator())
            ax.set_xlabel("N instances alive at once (log scale)")
        log_axis(total, "y")
        total.set_ylabel("PSS growth over baseline, MiB (log scale)")
        total.set_title("Total memory vs density", loc="left")
        per_instance = np.concatenate([t / c for c, t in series.values()])
        if spans_decades(per_instance):
            log_axis(each, "y")
            each.set_ylabel("PSS per instance, MiB (log scale)")
        else:
            each.set_ylim(0, per_instance.max() * 1.15)
            each.set_ylabel("PSS per instance, MiB")
        each.set_title("Per instance (total / N)", loc="left")
        fig.legend(handles=[Line2D([], [], color=data.colours[n], marker="o", linewidth=1.8, label=n) for n in series],
                   loc="outside lower center", ncol=min(len(series), 6), frameon=False)
        return _save(fig, folder, "memory_vs_n.png")


# 5. measured here vs published ---------------------------------------------------------------------------------

def published(data: ReportData, folder: Path) -> str | None:
    cold = [(name, data.cold_ms(name)) for name in data.measured if data.cold_ms(name).size]
    mem = [(name, data.memory_per_instance_mib(name).get("pss")) for name in data.measured]
    mem = [(name, value) for name, value in mem if value]
    if not cold and not mem:
        return None
    panels = []
    if cold:
        panels.append(("cold_start", cold, "cold start, ms (log scale)", "Cold start: measured here vs published"))
    if mem:
        panels.append(("memory", mem, "memory per instance, MiB (log scale; a source's MB is taken as 10⁶ bytes)",
                       "Memory per instance: measured here (PSS) vs published"))
    heights = [len(items) + len(anchors.for_axis(axis)) for axis, items, _, _ in panels]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, 1.0 + 1.1 * len(panels) + 0.36 * sum(heights)),
                                 gridspec_kw={"height_ratios": heights}, squeeze=False, layout="constrained")
        for ax, (axis, items, xlabel, title) in zip(axes[:, 0], panels):
            _published_panel(ax, data, axis, items, xlabel, title)
        handles = [Line2D([], [], marker="o", linestyle="", color="grey", markersize=8,
                          label="measured here: median (cold start: with its 95% CI)")]
        handles += [Line2D([], [], linestyle="", markerfacecolor="none", markeredgewidth=1.5, markersize=8,
                           label=f"{kind} (not measured here)", **style) for kind, style in PUBLISHED_STYLE.items()]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=9.5)
        return _save(fig, folder, "published.png")


def _published_panel(ax, data: ReportData, axis: str, items, xlabel: str, title: str) -> None:
    labels, colours, values, y = [], [], [], 0
    for name, value in items:
        if axis == "cold_start":
            median, ci = float(np.median(value)), median_ci(value)
            error = [[median - ci[0]], [ci[1] - median]] if ci else None
            ax.errorbar([median], [y], xerr=error, fmt="o", color=data.colours[name], markersize=8,
                        capsize=4, elinewidth=2)
            shown = f"{_ms(median)} ms"
        else:
            median = value
            ax.plot([median], [y], "o", color=data.colours[name], markersize=8)
            shown = f"{median:.3g} MiB"
        ax.annotate(shown, (median, y), xytext=(9, 0), textcoords="offset points", va="center", fontsize=9.5)
        labels.append(f"{wrap_label(name, 28)}\nmeasured here")
        colours.append(data.colours[name])
        values.append(median)
        y += 1
    ax.axhline(y - 0.5, color="#999999", linewidth=0.8)
    for anchor in anchors.for_axis(axis):
        style = PUBLISHED_STYLE[anchor.kind]
        value = anchor.in_axis_unit()
        ax.plot([value], [y], linestyle="", markerfacecolor="none", markeredgewidth=1.5, markersize=8, **style)
        ax.annotate(anchor.stated(), (value, y), xytext=(9, 0), textcoords="offset points", va="center",
                    fontsize=9.5, color=style["color"])
        labels.append(f"{anchor.label}\n{anchor.kind}, {anchors.short_source(anchor)}")
        colours.append(style["color"])
        values.append(value)
        y += 1
    log_axis(ax, "x")
    ax.set_xlim(min(values) / 2, max(values) * 6)
    ax.set_yticks(range(len(labels)), labels, fontsize=9.5, linespacing=1.1)
    _colour_ticklabels(ax, [], colours)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")


PLOTS = (cold_start, cold_start_phases, warm_call, warm_call_breakdown, memory, memory_vs_n, published,
         *scale_plots.PLOTS)
PLOT_FILES = tuple(f"{plot.__name__}.png" for plot in PLOTS)


def draw_all(data: ReportData, folder: Path) -> dict[str, str]:
    """Plot function name -> file name, for the plots that had data."""
    drawn = {}
    for plot in PLOTS:
        name = plot(data, folder)
        if name:
            drawn[plot.__name__] = name
    return drawn
