"""Beyond hello: every workload of a workload set, for the same backends.

- the bundle-size sweep (workloads size-*): cold start against bundle size,
  per backend, log-log, and every backend's cold start over the isolate's at
  each size;
- warm-call time and memory per instance, per workload;
- which backend could not run which workload, and why.

Each workload is its own run (its own trials, backends interleaved in each);
a ratio is taken inside one workload's run, paired by trial, so it does not
carry the drift between the runs of two workloads. Every figure here comes
from the workload set (not from the main run above it, whose profile may differ).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from harness.analysis.summary_figures import RatioSummary
from harness.report import fmt
from harness.report.data import ReportData, Value, report_data
from harness.report.style import STYLE, WIDTH, log_axis, save
from harness.results.model import WorkloadSet

SWEEP = re.compile(r"size-\d+[km]")
PLOT = "workloads_sweep"


@dataclass
class WorkloadView:
    workloads: WorkloadSet

    @cached_property
    def data(self) -> dict[str, ReportData]:
        return {name: report_data(run) for name, run in self.workloads.runs.items()}

    @cached_property
    def sweep(self) -> list[str]:
        """The size-* workloads, smallest bundle first."""
        names = [name for name in self.workloads.names if SWEEP.fullmatch(name)]
        return sorted(names, key=lambda name: self.workloads.runs[name].worker.bytes)

    def bytes(self, workload: str) -> int:
        return self.workloads.runs[workload].worker.bytes

    @cached_property
    def backends(self) -> list[str]:
        """Every backend of the set, in the order of the first workload's report (family, then cold start)."""
        seen: list[str] = []
        for data in self.data.values():
            seen += [name for name in data.names if name not in seen]
        return seen

    def reference(self) -> str | None:
        return next((data.reference for data in self.data.values() if data.reference), None)

    def cold_start(self, workload: str, backend: str) -> Value | None:
        data = self.data[workload]
        return data.cold_start(backend) if backend in data.measured else None

    def ratio(self, workload: str, backend: str) -> RatioSummary | None:
        data = self.data[workload]
        return data.ratio("cold_start", backend) if backend in data.measured else None

    def why_not(self, workload: str, backend: str) -> str | None:
        """Why this backend has no cold start for this workload, or None when it has one."""
        data = self.data[workload]
        if backend not in data.run.backends:
            return "not in this run"
        info = data.result(backend).info
        if not info.available:
            return info.reason or "unavailable"
        if info.failures:
            return info.failures[0]
        return None if data.cold_start(backend) else "no cold start measured"


def size_label(count: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{fmt.number(count / scale)} {unit}"
    return f"{count} B"


def sweep_plot(view: WorkloadView, folder: Path) -> str | None:
    """Median cold start (95% interval) against bundle size, one line per backend, log-log."""
    import matplotlib.pyplot as plt

    if len(view.sweep) < 2:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 6.2))
        drawn = 0
        for backend in view.backends:
            points = [(view.bytes(w), view.cold_start(w, backend)) for w in view.sweep]
            points = [(x, v) for x, v in points if v is not None]
            if len(points) < 2:
                continue
            colour = next(view.data[w].colour(backend) for w in view.sweep if backend in view.data[w].measured)
            xs = [x for x, _ in points]
            ys = [v.value for _, v in points]
            low = [v.value - v.ci[0] if v.ci else 0 for _, v in points]
            high = [v.ci[1] - v.value if v.ci else 0 for _, v in points]
            ax.errorbar(xs, ys, yerr=[low, high], color=colour, marker="o", ms=4, lw=1.4, capsize=3, label=backend)
            drawn += 1
        if not drawn:
            plt.close(fig)
            return None
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xticks([view.bytes(w) for w in view.sweep])
        ax.set_xticklabels([size_label(view.bytes(w)) for w in view.sweep])
        ax.set_xlabel("bundle size (the worker file, bytes of bundled library code and handler)")
        ax.set_ylabel("cold start, ms (median, 95% interval)")
        ax.set_title("Cold start against bundle size, per backend")
        ax.legend(fontsize=8.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.subplots_adjust(left=0.08, right=0.79)
        return save(fig, folder, f"{PLOT}.png")


def draw(view: WorkloadView | None, folder: Path) -> dict[str, str]:
    if view is None:
        return {}
    name = sweep_plot(view, folder)
    return {PLOT: name} if name else {}


def _times(ratio: RatioSummary | None) -> str:
    if not ratio:
        return "–"
    ci = ratio.ci95
    return f"{fmt.ratio(ratio.value)}x" + (f" [{fmt.ratio(ci[0])}–{fmt.ratio(ci[1])}]" if ci else "")


def growth_sentence(view: WorkloadView) -> tuple[str, dict[str, float]] | None:
    """Whether the isolate's advantage holds as the worker grows: the smallest
    and largest bundle, the isolate's cold start and each role's ratio at both."""
    ref = view.reference()
    if len(view.sweep) < 2 or ref is None:
        return None
    small, large = view.sweep[0], view.sweep[-1]
    first, last = view.cold_start(small, ref), view.cold_start(large, ref)
    if first is None or last is None:
        return None
    numbers = {f"{ref} cold start ms at {small}": first.value, f"{ref} cold start ms at {large}": last.value}
    parts, before_after, behind = [], [], []
    for role in ("node-process", "docker-container"):
        backend = view.data[large].by_role(role)
        if backend is None:
            continue
        before, after = view.ratio(small, backend), view.ratio(large, backend)
        if not before or not after:
            continue
        numbers[f"{backend} ratio at {small}"] = before.value
        numbers[f"{backend} ratio at {large}"] = after.value
        described = view.data[large].described(backend)
        parts.append(f"{_times(before)} → {_times(after)} over {described}")
        before_after.append((before.value, after.value))
        if after.value <= 1:
            behind.append(described)
    if not parts:
        return None
    trend = ("shrinks" if all(a < b for b, a in before_after) else
             "grows" if all(a > b for b, a in before_after) else "changes")
    text = (f"As the worker grows from {size_label(view.bytes(small))} to {size_label(view.bytes(large))} of bundled "
            f"code, {view.data[large].described(ref)} starts in {fmt.number(first.value)} → "
            f"{fmt.number(last.value)} ms and its lead {trend}: " + "; ".join(parts) + ".")
    if behind:
        text += f" At {size_label(view.bytes(large))} it is no longer sooner than {' or '.join(behind)}."
    return text, numbers


def section(view: WorkloadView, plots: dict) -> list[str]:
    ref = view.reference()
    lines = ["## Beyond hello: workloads", "",
             f"{len(view.workloads.names)} workloads ({', '.join(view.workloads.names)}), each its own run with "
             f"profile `{next(iter(view.workloads.runs.values())).profile.name}`; what each is: `docs/workloads.md`. "
             "Ratios are each backend's cold start over the isolate's, paired by trial inside one workload's run.", ""]
    grown = growth_sentence(view)
    if grown:
        lines += [grown[0], ""]
    if PLOT in plots:
        lines += [f"![Cold start against bundle size, per backend]({plots[PLOT]})", ""]
    if view.sweep and ref:
        header = " | ".join(f"{w} ({size_label(view.bytes(w))})" for w in view.sweep)
        lines += [f"Cold start, ms, and × over {ref}, at each bundle size:", "",
                  f"| backend | {header} |", "|---|" + "---:|" * len(view.sweep)]
        for backend in view.backends:
            cells = []
            for workload in view.sweep:
                cold = view.cold_start(workload, backend)
                if cold is None:
                    cells.append(f"*{fmt.cell(view.why_not(workload, backend))}*")
                else:
                    ratio = "" if backend == ref else f" ({_times(view.ratio(workload, backend))})"
                    cells.append(f"{fmt.number(cold.value)}{ratio}")
            lines.append(f"| {backend} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += variant_lines(view)
    lines += _per_workload(view, "cold start, ms (median)", lambda d, b: d.cold_start(b))
    lines += _per_workload(view, "warm call, µs (median)", lambda d, b: d.warm_call(b))
    lines += _per_workload(view, "memory per instance, MiB (median; each backend's own kind, as in At a glance)",
                           lambda d, b: d.memory(b))
    lines += _cannot(view)
    return lines


def _per_workload(view: WorkloadView, what: str, figure) -> list[str]:
    names = view.workloads.names
    title = what[0].upper() + what[1:]
    lines = ["<details>", f"<summary>{title.split(',')[0]} per workload</summary>", "", f"{title}:", "", "| backend | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for backend in view.backends:
        cells = []
        for workload in names:
            data = view.data[workload]
            value = figure(data, backend) if backend in data.measured else None
            cells.append(fmt.number(value.value) if value else "–")
        lines.append(f"| {backend} | " + " | ".join(cells) + " |")
    return lines + ["", "</details>", ""]


def _cannot(view: WorkloadView) -> list[str]:
    """Backends without figures for a workload, with the reason each run recorded."""
    missing = []
    for workload in view.workloads.names:
        for backend in view.backends:
            reason = view.why_not(workload, backend)
            if reason and reason != "not in this run":
                missing.append(f"- {workload} on {backend}: {fmt.cell(reason)}")
    if not missing:
        return ["Every backend ran every workload.", ""]
    return ["Not measured:", "", *missing, ""]


def variant_lines(view: WorkloadView) -> list[str]:
    """Each variant backend (Backend.variant_of: the code cache, the start-up
    snapshot, the Wizer snapshot) over the backend it varies, cold start paired
    by trial, at each size of the sweep."""
    from harness.analysis.estimate import paired_ratio

    sizes = view.sweep or list(view.workloads.names)
    lines = []
    for backend in view.backends:
        base, cells = "", []
        for workload in sizes:
            data = view.data[workload]
            if backend not in data.measured:
                continue
            base = data.result(backend).info.variant_of
            if not base or base not in data.measured:
                continue
            ratio = paired_ratio(data.result(backend).cold_start.wall, data.result(base).cold_start.wall)
            if ratio is not None:
                ci = f" [{fmt.ratio(ratio.ci[0])}–{fmt.ratio(ratio.ci[1])}]" if ratio.ci else ""
                cells.append(f"{workload} {fmt.ratio(ratio.value)}x{ci}")
        if cells:
            summary = view.data[sizes[-1]].result(backend).info.summary if backend in view.data[sizes[-1]].run.backends \
                else backend
            lines += [f"**{backend}** over **{base}**, cold start (ratio within each trial, geometric mean over "
                      f"the trials, 95% interval; below 1 is faster): " + "; ".join(cells)
                      + f". {backend}: {summary}.", ""]
    if lines:
        lines += ["Cloudflare's 2025 post on cold starts (`docs/sources.md`) names compiling the script and running its "
                  "top-level code as phases of a Worker's cold start and says large Workers now outlast the TLS "
                  "handshake; it publishes no figure for a code cache or a snapshot, so none is set beside these.", ""]
    return lines
