"""The report's plots, one function each: data and a folder in, one PNG
written, its file name out (None when there is nothing to draw). Lengths
carry numbers only on linear axes; on log axes a value is a dot with its
interval. Backends are grouped by family, colours come from the family."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from harness.report import fmt
from harness.report.data import ReportData, Value
from harness.report.style import STYLE, WIDTH, backend_rows, height, log_axis, save, text_colour
from harness.results.vocabulary import FAMILIES

PHASE_COLOURS = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
                 "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")
ECDF_CLIP = 99.9  # percentile past which the warm-call ECDF is cut (the rest counted in the legend)


def _family_legend(data: ReportData, names: list[str]) -> list:
    seen, handles = set(), []
    for name in names:
        family = data.family(name)
        if family not in seen:
            seen.add(family)
            handles.append(Patch(color=data.colour(name), label=data.family_label(name)))
    return handles


def _errorbar(ax, value: Value, y: float, colour: str, horizontal: bool = True, **style) -> None:
    if value.ci:
        low, high = value.ci
        if horizontal:
            ax.errorbar([value.value], [y], xerr=[[value.value - low], [high - value.value]], fmt="o",
                        color=colour, ecolor=colour, elinewidth=2.2, capsize=3, zorder=4, **style)
            return
    ax.plot([value.value], [y], "o", color=colour, zorder=4, **style)


# 1. the trade-off map ----------------------------------------------------------------------------------------

def tradeoff(data: ReportData, folder: Path) -> str | None:
    """Cold start against memory per instance, log-log: one point per backend with both intervals."""
    points = [(name, data.cold_start(name), data.memory(name)) for name in data.measured]
    points = [(n, c, m) for n, c, m in points if c and m and m.value > 0]
    if len(points) < 2:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 6.6), layout="constrained")
        labels = Labels(ax, fig.canvas.get_renderer())
        for name, cold, memory in points:
            colour = data.colour(name)
            xerr = [[cold.value - cold.ci[0]], [cold.ci[1] - cold.value]] if cold.ci else None
            yerr = [[memory.value - memory.ci[0]], [memory.ci[1] - memory.value]] if memory.ci else None
            ax.errorbar([cold.value], [memory.value], xerr=xerr, yerr=yerr, fmt="o", markersize=9, color=colour,
                        ecolor=colour, elinewidth=1.6, capsize=2.5, markeredgecolor="white", zorder=4)
        log_axis(ax, "x")
        log_axis(ax, "y")
        xs = [c.value for _, c, _ in points]
        ys = [m.value for _, _, m in points]
        ax.set_xlim(min(xs) / 2.5, max(xs) * 4)
        ax.set_ylim(min(ys) / 2.5, max(ys) * 3)
        ax.set_xlabel("cold start, ms (median, 95% CI): fresh instance requested → first answer")
        ax.set_ylabel("memory per instance, MiB (median, 95% CI)")
        ax.set_title("The trade-off: cold start against memory per instance (lower left is cheaper)", loc="left")
        handles = _family_legend(data, [n for n, _, _ in points])
        if data.containment:
            handles.append(Line2D([], [], linestyle="", label="n/m: hostile workers contained / tried"))
        ax.legend(handles=handles, loc="upper left", frameon=False)
        fig.canvas.draw()  # the constrained layout settles first, so the labels' boxes are where they will be drawn
        labels.avoid_points([(c.value, m.value) for _, c, m in points])
        labels.placed.append(ax.get_legend().get_window_extent(fig.canvas.get_renderer()))
        for name, cold, memory in points:
            score = data.containment_score(name)
            label = name + (f"  {score[0]}/{score[1]}" if score else "")
            labels.place(label, (cold.value, memory.value), text_colour(data.colour(name)))
        return save(fig, folder, "tradeoff.png")


class Labels:
    """Point labels that do not overlap: each takes the first of a few offsets that is free."""

    OFFSETS = ((8, 6, "left"), (8, -14, "left"), (-8, 6, "right"), (-8, -14, "right"),
               (8, 18, "left"), (-8, 18, "right"), (8, -26, "left"), (-8, -26, "right"),
               (8, 30, "left"), (-8, 30, "right"), (8, -38, "left"), (-8, -38, "right"),
               (8, 42, "left"), (-8, 42, "right"), (8, -50, "left"), (-8, -50, "right"))
    LEADER_FROM = 30  # a label this far from its point gets a thin line to it

    def __init__(self, ax, renderer) -> None:
        self.ax, self.renderer, self.placed = ax, renderer, []

    def avoid_points(self, points, radius_px: float = 7.0) -> None:
        """Keep labels off these markers too (call once the layout is final)."""
        from matplotlib.transforms import Bbox

        for x, y in points:
            px, py = self.ax.transData.transform((x, y))
            self.placed.append(Bbox.from_extents(px - radius_px, py - radius_px, px + radius_px, py + radius_px))

    def place(self, text: str, xy, colour: str) -> None:
        """At the first free offset; where none is free, at the one that covers the least of the others."""
        best = None
        for dx, dy, ha in self.OFFSETS:
            leader = dict(arrowprops=dict(arrowstyle="-", color=colour, lw=0.5, shrinkA=0, shrinkB=3)) \
                if abs(dy) >= self.LEADER_FROM else {}
            label = self.ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", ha=ha, fontsize=10,
                                     color=colour, zorder=5, **leader)
            box = label.get_window_extent(self.renderer)
            covered = sum(_overlap(box, other) for other in self.placed)
            if covered == 0:
                if best is not None:
                    best[0].remove()
                self.placed.append(box)
                return
            if best is None or covered < best[2]:
                if best is not None:
                    best[0].remove()
                best = (label, box, covered)
            else:
                label.remove()
        self.placed.append(best[1])


def _overlap(a, b) -> float:
    """The area two boxes share, in square pixels."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


# 2. cold start -------------------------------------------------------------------------------------------------

def cold_start(data: ReportData, folder: Path) -> str | None:
    rows = []  # (label, backend, wall Value, cpu Value, trial medians)
    for name in data.measured:
        cold = data.cold_start(name)
        if cold:
            rows.append((name, name, cold, data.cold_start_cpu(name), data.trial_medians(name, "cold_start")))
        first = data.first_instance(name)
        if first:
            rows.append((f"{name}: first in a process", name, first, None, data.trial_medians(name, "first_instance")))
    if not rows:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, height(len(rows), 2.2)), layout="constrained")
        everything = []
        for y, (label, name, wall, cpu, trials) in enumerate(rows):
            colour = data.colour(name)
            ax.scatter(trials, np.full(len(trials), y - 0.22), s=14, color="#888888", alpha=0.8, zorder=3)
            _errorbar(ax, wall, y, colour, markersize=7)
            if cpu:
                ax.errorbar([cpu.value], [y + 0.22], xerr=[[cpu.value - cpu.ci[0]], [cpu.ci[1] - cpu.value]]
                            if cpu.ci else None, fmt="s", markersize=5, markerfacecolor="white", color=colour,
                            ecolor=colour, elinewidth=1.2, capsize=2, zorder=4)
            row = [wall.value, *(wall.ci or ()), *trials] + ([cpu.value, *(cpu.ci or ())] if cpu else [])
            everything += row
            ax.annotate(f"{fmt.number(wall.value)} ms [{fmt.ci(wall)}]", (max(row), y),
                        xytext=(12, 0), textcoords="offset points", va="center", fontsize=9.5, color="#333333")
        log_axis(ax, "x")
        ax.set_xlim(min(v for v in everything if v > 0) / 1.8, max(everything) * 8)
        backend_rows(ax, [label for label, *_ in rows], [data.colour(b) for _, b, *_ in rows],
                     [data.family(b) for _, b, *_ in rows])
        ax.set_xlabel("ms (log scale): fresh instance requested → first answer received")
        ax.set_title("Cold start: median and 95% interval (over trials)", loc="left")
        legend = [Line2D([], [], marker="o", linestyle="-", color="black", label="wall time, median and 95% CI"),
                  Line2D([], [], marker="s", linestyle="-", color="black", markerfacecolor="white",
                         label="CPU time of the same starts"),
                  Line2D([], [], marker="o", linestyle="", color="#888888", label="one trial's median")]
        fig.legend(handles=legend, loc="outside lower center", ncol=3, frameon=False)
        return save(fig, folder, "cold_start.png")


def phases(data: ReportData, folder: Path) -> str | None:
    """Where each cold start's time goes: the phases' medians as shares (linear, 100% bars)."""
    rows = [(name, data.phases_ms(name)) for name in data.measured if data.phases_ms(name)]
    if not rows:
        return None
    names = list(dict.fromkeys(p for _, phases in rows for p in phases))
    colour = {p: PHASE_COLOURS[i % len(PHASE_COLOURS)] for i, p in enumerate(names)}
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, height(len(rows), 2.4)), layout="constrained")
        for y, (name, values) in enumerate(rows):
            total, left = sum(values.values()), 0.0
            for phase, value in values.items():
                share = 100 * value / total
                ax.barh(y, share, left=left, color=colour[phase], edgecolor="white", linewidth=0.6)
                if share >= 9:
                    ax.text(left + share / 2, y, f"{phase.replace('_', ' ')}" if share >= 28 else f"{share:.0f}%",
                            ha="center", va="center", fontsize=9)
                left += share
            ax.annotate(f"{fmt.number(total)} ms", (100, y), xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=9.5)
        ax.set_xlim(0, 100)
        backend_rows(ax, [n for n, _ in rows], [data.colour(n) for n, _ in rows], [data.family(n) for n, _ in rows])
        ax.set_xlabel("share of the backend's own cold start, % (medians of each phase)")
        ax.set_title("Cold start, phase by phase", loc="left")
        fig.legend(handles=[Patch(color=colour[p], label=p.replace("_", " ")) for p in names],
                   loc="outside lower center", ncol=min(len(names), 6), frameon=False, fontsize=9)
        return save(fig, folder, "cold_start_phases.png")


# 3. warm call --------------------------------------------------------------------------------------------------

def warm_call(data: ReportData, folder: Path) -> str | None:
    """ECDF of warm calls (solid) and transport round trips (dashed), cut at p99.9."""
    names = [name for name in data.measured if data.samples(name, "warm_call").size]
    if not names:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 6.4), layout="constrained")
        clip = max(float(np.percentile(data.samples(n, "warm_call"), ECDF_CLIP)) for n in names)
        low = min(float(np.percentile(data.samples(n, "warm_call"), 0.1)) for n in names)
        handles = []
        for name in names:
            colour = data.colour(name)
            for key, style in (("warm_call", "-"), ("transport", "--")):
                samples = np.sort(data.samples(name, key))
                if not samples.size:
                    continue
                kept = samples[samples <= clip]
                ax.step(kept, np.arange(1, kept.size + 1) / samples.size, where="post", color=colour,
                        linestyle=style, linewidth=1.7 if style == "-" else 1.2)
                if key == "warm_call":
                    beyond = samples.size - kept.size
                    handles.append(Line2D([], [], color=colour, linewidth=2.5,
                                          label=f"{name}" + (f" ({beyond} beyond the cut)" if beyond else "")))
        log_axis(ax, "x")
        ax.set_xlim(low / 1.5, clip * 1.05)
        ax.set_ylim(0, 1.01)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 0.99], ["0", "0.25", "0.5", "0.75", "0.99"])
        ax.set_xlabel(f"µs per call (log scale), cut at the largest p{ECDF_CLIP:g}")
        ax.set_ylabel("fraction of calls ≤ x")
        ax.set_title("Warm call (solid) and transport round trip alone (dashed)", loc="left")
        handles += [Line2D([], [], color="black", label="warm call: request out → answer in"),
                    Line2D([], [], color="black", linestyle="--", label="transport: a ping, no handler")]
        fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=9)
        return save(fig, folder, "warm_call.png")


# 4. memory ------------------------------------------------------------------------------------------------------

MEMORY_MARKERS = {"uss": "o", "pss": "s", "cgroup": "D", "shim_pss": "^", "runtime_pss": "v"}


def memory(data: ReportData, folder: Path) -> str | None:
    rows = [name for name in data.measured if data.memory(name)]
    if not rows:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, height(len(rows), 2.4)), layout="constrained")
        values = []
        for y, name in enumerate(rows):
            colour = data.colour(name)
            kinds = [k for k in MEMORY_MARKERS if k in data.memory_kinds(name)]
            for offset, kind in zip(np.linspace(-0.25, 0.25, max(1, len(kinds))), kinds):
                value = data.memory(name, kind)
                if value and value.value > 0:
                    ax.plot([value.value], [y + offset], MEMORY_MARKERS[kind], color=colour, markersize=6,
                            markerfacecolor="white", zorder=3)
                    values.append(value.value)
            chosen = data.memory(name)
            _errorbar(ax, chosen, y, colour, markersize=9)
            row_values = [v for v in values if v > 0] + [chosen.value]
            values.append(chosen.value)
            ax.annotate(f"{fmt.number(chosen.value)} MiB ({data.memory_label(data.memory_kind(name))})",
                        (max(row_values[-len(kinds) - 1:]), y), xytext=(10, 0), textcoords="offset points",
                        va="center", fontsize=8.5, color="#333333")
        log_axis(ax, "x")
        positive = [v for v in values if v > 0]
        ax.set_xlim(min(positive) / 2, max(positive) * 3)
        backend_rows(ax, rows, [data.colour(n) for n in rows], [data.family(n) for n in rows])
        ax.set_xlabel("MiB per instance (log scale): growth over the baseline / N, median over trials")
        ax.set_title("Memory per instance: the class's own figure (filled, with 95% CI) and the others", loc="left")
        legend = [Line2D([], [], marker="o", linestyle="", color="black", markersize=8,
                         label="counted for its class (in-process USS, process PSS, container cgroup + shim)")]
        legend += [Line2D([], [], marker=m, linestyle="", color="black", markerfacecolor="white",
                          label=data.memory_label(k)) for k, m in MEMORY_MARKERS.items()]
        fig.legend(handles=legend, loc="outside lower center", ncol=3, frameon=False, fontsize=9)
        return save(fig, folder, "memory.png")


PLOTS = {"tradeoff": tradeoff, "cold_start": cold_start, "cold_start_phases": phases, "warm_call": warm_call,
         "memory": memory}


def draw_all(data: ReportData, folder: Path) -> dict[str, str]:
    """Every plot that has data: key -> file name."""
    from harness.report import at_scale, scale

    drawn = {}
    for key, draw in {**PLOTS, **scale.PLOTS, **at_scale.PLOTS}.items():
        name = draw(data, folder)
        if name:
            drawn[key] = name
    return drawn


PLOT_FILES = tuple(f"{key}.png" for key in (*PLOTS, "density", "concurrency", "storm", "start_rate", "load", "workloads_sweep"))
FAMILY_KEYS = tuple(FAMILIES)
