"""The cross-machine report of a fleet folder (`python -m harness report
results/fleet/<fleet-id>/`, written by `python -m harness fleet`): who was
measured and who was not, each machine's facts, every machine-independent
ratio (each backend over the reference, paired by trial inside each run)
machine by machine, and whether each ratio holds on every machine: each
other machine's run compared with the first one's as `compare --ratios-only`
does. Absolute times are not compared across machines; only ratios are."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt

from harness.analysis.estimate import paired_ratio
from harness.findings.compare import (
    IMPROVEMENT,
    REGRESSION,
    CompareRow,
    CompareSettings,
    Comparison,
    IncompatibleResults,
    compare,
)
from harness.findings.key_figures import ratio_pairs
from harness.fleet.manifest import FleetManifest, FleetNode, load_manifest
from harness.report import fmt, html
from harness.report.conditions import VERSION_LABELS, virtualization
from harness.report.data import ReportData, Value
from harness.report.headline import compared_backends
from harness.report.style import MAX_HEIGHT, STYLE, WIDTH, log_axis, save
from harness.results.model import Machine, Run
from harness.results.schema import ResultsError
from harness.results.store import load, write_atomic
from harness.results.vocabulary import GIB, MEMORY_KINDS, memory_label
from harness.suites import FIGURES

REPORT_FILE, HTML_FILE, PLOT_FILE = "report.md", "report.html", "fleet_ratios.png"
# The ratios shown machine by machine (as harness/findings/key_figures.py computes them).
RATIO_METRICS = ("cold_start", "cold_start_cpu", *(f"memory_{k}" for k, spec in MEMORY_KINDS.items() if spec.ratio))
SETTINGS = CompareSettings(ratios_only=True, machine_bound=False)  # what `compare --ratios-only` does
HOLDS, DEPENDS = "holds on every machine", "depends on the machine"
CHANGED = (REGRESSION, IMPROVEMENT)
LOG_SPAN = 10.0  # a plot panel whose values span more than this factor gets a log y axis

RatioKey = tuple[str, str]  # ("container/isolate", "cold_start")


# ---------------------------------------------------------------- records

@dataclass(frozen=True)
class Measured:
    """One measured node: its manifest entry, its run, and the single-run report's view of that run."""

    node: FleetNode
    run: Run
    data: ReportData

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(frozen=True)
class Holds:
    """One ratio across the fleet: the machines where it changed against the first, and where it was not compared."""

    key: RatioKey
    changed: tuple[tuple[str, CompareRow], ...] = ()
    absent: tuple[str, ...] = ()

    @property
    def holds(self) -> bool:
        return not self.changed


@dataclass
class FleetView:
    """Everything the fleet report prints, computed once."""

    manifest: FleetManifest
    machines: list[Measured]
    ratios: dict[str, dict[RatioKey, Value]] = field(init=False)  # machine -> ratio -> value
    comparisons: dict[str, Comparison | str] = field(init=False)  # other machine -> comparison, or why none
    holds: list[Holds] = field(init=False)

    def __post_init__(self):
        self.ratios = {m.name: ratio_figures(m) for m in self.machines}
        self.comparisons = comparisons(self.machines)
        self.holds = holds(self.machines, self.comparisons)

    @property
    def first(self) -> Measured:
        return self.machines[0]

    @property
    def reference(self) -> str | None:
        return self.first.run.reference

    def keys(self, metric: str) -> list[RatioKey]:
        """The ratios of one metric, in the order the machines list their backends."""
        found = [key for m in self.machines for key in self.ratios[m.name] if key[1] == metric]
        return list(dict.fromkeys(found))

    def colour(self, pair: str) -> str:
        name = pair.split("/")[0]
        return next(m.data.colour(name) for m in self.machines if name in m.run.backends)


# ---------------------------------------------------------------- figures

def metric_label(metric: str) -> str:
    if metric in FIGURES:
        return FIGURES[metric].label
    return f"memory per instance ({memory_label(metric.removeprefix('memory_'))})"


def ratio_label(key: RatioKey) -> str:
    return f"{key[0]} {metric_label(key[1])}"


def ratio_figures(machine: Measured) -> dict[RatioKey, Value]:
    """Each backend over the reference, paired by trial (key_figures' ratios, cold start and memory)."""
    run, ref = machine.run, machine.run.reference
    if ref is None:
        return {}
    out = {}
    for name in [n for n in machine.data.names if n in run.measured and n != ref]:
        pairs = [pair for pair in ratio_pairs(run, name) if pair[0] in RATIO_METRICS]
        for key, x, y in pairs:
            found = Value.of(paired_ratio(x, y)) if x and y else None
            if found:
                out[(f"{name}/{ref}", key)] = found
    return out


def comparisons(machines: list[Measured]) -> dict[str, Comparison | str]:
    """Each other machine's run against the first one's, ratios only (or why they cannot be compared)."""
    out: dict[str, Comparison | str] = {}
    for other in machines[1:]:
        try:
            out[other.name] = compare(machines[0].run, other.run, SETTINGS)
        except IncompatibleResults as error:
            out[other.name] = str(error)
    return out


def _ratio_rows(comparison: Comparison) -> dict[RatioKey, CompareRow]:
    return {(row.backend, row.metric): row for row in comparison.rows
            if row.kind in ("ratio", "memory ratio") and not row.backend.endswith("(vs all others)")}


def holds(machines: list[Measured], found: dict[str, Comparison | str]) -> list[Holds]:
    """Per ratio compared anywhere: holds when no comparison says it changed significantly."""
    rows = {name: _ratio_rows(c) for name, c in found.items() if isinstance(c, Comparison)}
    keys = list(dict.fromkeys(key for by_key in rows.values() for key in by_key))
    out = []
    for key in keys:
        changed = tuple((m.name, rows[m.name][key]) for m in machines[1:]
                        if key in rows.get(m.name, {}) and rows[m.name][key].verdict in CHANGED)
        absent = tuple(m.name for m in machines[1:] if key not in rows.get(m.name, {}))
        out.append(Holds(key, changed, absent))
    return out


def headline_backend(machines: list[Measured]) -> str | None:
    """The backend the headline compares with (headline.py's roles), the one most machines measured."""
    picks = Counter(others[0] for others in (compared_backends(m.data) for m in machines) if others)
    return picks.most_common(1)[0][0] if picks else None


def machine_count(machines: list[Measured]) -> int:
    """Distinct machines (boot ids): two Ray nodes on one machine are one."""
    return len({m.node.facts.boot_id or m.name for m in machines})


# ---------------------------------------------------------------- markdown

def _title(view: FleetView) -> list[str]:
    manifest = view.manifest
    commit = f"`{(manifest.commit or '?')[:12]}`" + (" with uncommitted changes" if manifest.dirty else "")
    line = (f"Fleet `{manifest.fleet_id}` at commit {commit}: {len(manifest.measured)} of {len(manifest.nodes)} "
            f"nodes measured")
    if manifest.run_args:
        line += f" (`run {' '.join(manifest.run_args)}`)"
    if manifest.missing:
        line += "; not measured: " + "; ".join(f"**{n.name}** ({n.status}: {n.cause or 'no cause recorded'})"
                                               for n in manifest.missing)
    return ["# isobench fleet report", "", line + ".", ""]


def _between(low: float, high: float) -> str:
    return fmt.ratio(low) if fmt.ratio(low) == fmt.ratio(high) else f"{fmt.ratio(low)}–{fmt.ratio(high)}"


def _span(values: list[float]) -> str:
    """'55–80x sooner', '2.1x later', or 'from 1.2x later to 3x sooner'."""
    low, high = min(values), max(values)
    if low >= 1:
        return f"{_between(low, high)}x sooner"
    if high < 1:
        return f"{_between(1 / high, 1 / low)}x later"
    return f"from {fmt.ratio(1 / low)}x later to {fmt.ratio(high)}x sooner"


def _listed(items: list[str], most: int = 6) -> str:
    return fmt.and_list(items if len(items) <= most else [*items[:most], f"{len(items) - most} more"])


def _count(items: list, one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"


def _meaning(view: FleetView) -> list[str]:
    lines = ["## What this means", ""]
    ref, name = view.reference, headline_backend(view.machines)
    values = [(m.name, view.ratios[m.name].get((f"{name}/{ref}", "cold_start"))) for m in view.machines]
    found = [(machine, value) for machine, value in values if value]
    if ref and name and found:
        count = machine_count(view.machines)
        machines_word = "machine" if count == 1 else "machines"
        where = (f"Across {count} machines" if count == len(view.machines) > 1 else
                 f"Across {len(view.machines)} nodes ({count} {machines_word})" if len(view.machines) > 1 else
                 "On the one machine measured")
        sentence = (f"{where} a fresh {view.first.data.described(ref).removeprefix('a ')} answered its first call "
                    f"{_span([v.value for _, v in found])} than {view.first.data.described(name)} "
                    f"({name}/{ref} cold start, median of each machine's paired ratio)")
        absent = [machine for machine, value in values if not value]
        lines.append(sentence + (f"; {name} was not measured on {fmt.and_list(absent)}." if absent else "."))
    else:
        lines.append("No machine measured both the reference (a V8 isolate) and another backend's cold start, so "
                     "there is no cold-start ratio to report.")
    if len(view.machines) < 2:
        lines.append("Only one machine was measured, so whether the ratios hold on other machines is not known.")
    elif view.holds:
        steady = [ratio_label(h.key) for h in view.holds if h.holds and not h.absent]
        moving = [f"{ratio_label(h.key)} ({', '.join(m for m, _ in h.changed)})" for h in view.holds if not h.holds]
        partly = [ratio_label(h.key) for h in view.holds if h.holds and h.absent]
        text = f"Of the {len(view.holds)} ratios compared, {_count(steady, 'holds', 'hold')} on every machine"
        text += f" ({_listed(steady)})" if steady else ""
        text += f"; {_count(moving, 'depends', 'depend')} on the machine: {_listed(moving)}" if moving else ""
        text += f"; {_count(partly, 'holds', 'hold')} where compared, not on every machine" if partly else ""
        lines.append(text + ".")
    return lines + [""]


def gib(machine: Machine) -> str:
    return f"{machine.memory_total_bytes / GIB:.1f}" if machine.memory_total_bytes else "?"


def cpu_idle(machine: Machine) -> str:
    """The cpuidle driver and governor (harness/measure/machine.py cpu_idle)."""
    idle = dict(machine.cpu_idle)
    if not idle:
        return "not recorded"
    driver, governor = idle.get("driver"), idle.get("governor")
    return (driver or "no cpuidle driver") + (f" ({governor} governor)" if governor else "")


def versions(machine: Measured) -> str:
    parts = []
    for name in machine.data.measured:
        shown = [f"{VERSION_LABELS.get(k, k)} {v}" for k, v in machine.data.result(name).info.versions.items()
                 if str(v).strip() and k != "image_id"]
        if shown:
            parts.append(f"{name}: {', '.join(shown)}")
    return "; ".join(parts) or "not recorded"


def _machines(view: FleetView) -> list[str]:
    lines = ["## Machines", "", "| node | CPU | cores | memory GiB | kernel | cpuidle | virtualisation | versions |",
             "|---|---|---|---|---|---|---|---|"]
    for m in view.machines:
        machine, node = m.run.machine, m.node
        label = node.name + (f" (same machine as {node.after})" if node.after else "") \
            + (f" ({node.cause})" if node.cause else "")
        cells = (label, machine.cpu_model, machine.cpu_count or "?", gib(machine), machine.kernel or "?",
                 cpu_idle(machine), virtualization(m.data), versions(m))
        lines.append("| " + " | ".join(fmt.cell(c) for c in cells) + " |")
    return lines + [""]


def _cell(value: Value | None) -> str:
    return f"{fmt.ratio(value.value)} [{fmt.ci(value, fmt.ratio)}]" if value else "–"


def _ratio_tables(view: FleetView, plot: str | None) -> list[str]:
    names = [m.name for m in view.machines]
    lines = ["## Ratios, machine by machine", "",
             f"Each backend over the reference ({view.reference or 'none measured'}), paired by trial inside each "
             "machine's run: median [95% CI over the trials]. Ratios carry across machines; absolute times do not.",
             ""]
    metrics = [metric for metric in RATIO_METRICS if view.keys(metric)]
    for metric in metrics:
        keys = view.keys(metric)
        lines += [f"### {metric_label(metric)}", "", "| ratio | " + " | ".join(map(fmt.cell, names)) + " |",
                  "|---|" + "---|" * len(names)]
        lines += [f"| {fmt.cell(key[0])} | " + " | ".join(_cell(view.ratios[n].get(key)) for n in names) + " |"
                  for key in keys]
        lines.append("")
    if plot:
        lines += [f"![Each ratio across the machines, with its 95% interval]({plot})", ""]
    elif not metrics:
        lines += ["No machine measured a ratio to the reference.", ""]
    return lines


def _change(machine: str, row: CompareRow) -> str:
    ci = f" (95% CI {row.ratio_ci95[0]:.2f}–{row.ratio_ci95[1]:.2f})" if row.ratio_ci95 else ""
    return f"{machine} {row.ratio:.2f}x{ci}"


def verdict_text(found: Holds, first: str) -> str:
    if found.changed:
        text = f"{DEPENDS}: {'; '.join(_change(m, row) for m, row in found.changed)} of {first}'s"
    else:
        text = HOLDS if not found.absent else "holds where compared"
    return text + (f" (not compared on {fmt.and_list(list(found.absent))})" if found.absent else "")


def _holds_section(view: FleetView) -> list[str]:
    first = view.first.name
    lines = ["## Do the ratios hold?", ""]
    if len(view.machines) < 2:
        return lines + ["Only one machine was measured: there is nothing to compare it with.", ""]
    lines += [f"Each machine's run compared with {first}'s as `compare --ratios-only` does: a ratio changed when it "
              f"moved by more than {SETTINGS.threshold:.0%} with p < {SETTINGS.alpha} (cold start's two clocks "
              f"each at p < {SETTINGS.alpha / 2:g}).", ""]
    for machine, found in view.comparisons.items():
        if isinstance(found, str):
            lines.append(f"- {machine} could not be compared with {first}: {found}.")
        else:
            lines += [f"- {machine}: {row.note}." for row in found.rows
                      if row.backend.endswith("(vs all others)") and row.verdict in CHANGED and row.note]
    if lines[-1] != "":
        lines.append("")
    if view.holds:
        lines += ["| ratio | figure | across the machines |", "|---|---|---|"]
        lines += [f"| {fmt.cell(h.key[0])} | {fmt.cell(metric_label(h.key[1]))} | "
                  f"{fmt.cell(verdict_text(h, first))} |" for h in view.holds]
        lines.append("")
    return lines


def render(view: FleetView, plot: str | None) -> str:
    return "\n".join([*_title(view), *_meaning(view), *_machines(view), *_ratio_tables(view, plot),
                      *_holds_section(view)])


# ---------------------------------------------------------------- the plot

def draw(view: FleetView, folder: Path) -> str | None:
    """One panel per ratio figure, one line per backend, the machines along x; error bars are the 95% CIs."""
    metrics = [metric for metric in RATIO_METRICS if view.keys(metric)]
    if not metrics:
        return None
    names = [m.name for m in view.machines]
    columns = 1 if len(metrics) == 1 else 2
    rows = math.ceil(len(metrics) / columns)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, min(MAX_HEIGHT, 0.8 + 3.4 * rows)),
                                 layout="constrained", squeeze=False)
        for ax in axes.flat[len(metrics):]:
            ax.set_visible(False)
        for ax, metric in zip(axes.flat, metrics):
            keys = view.keys(metric)
            spread, seen = 0.25 / max(1, len(keys)), []
            for i, key in enumerate(keys):
                points = [(x + (i - (len(keys) - 1) / 2) * spread, view.ratios[n][key])
                          for x, n in enumerate(names) if key in view.ratios[n]]
                xs, values = [p[0] for p in points], [p[1] for p in points]
                low = [v.value - v.ci[0] if v.ci else 0 for v in values]
                high = [v.ci[1] - v.value if v.ci else 0 for v in values]
                colour = view.colour(key[0])
                ax.errorbar(xs, [v.value for v in values], yerr=[low, high], fmt="o-", color=colour, ecolor=colour,
                            elinewidth=1.8, capsize=3, linewidth=1, label=key[0])
                seen += [v.ci[0] if v.ci else v.value for v in values] + [v.ci[1] if v.ci else v.value for v in values]
            positive = [v for v in seen if v > 0]
            if positive and max(positive) / min(positive) > LOG_SPAN:
                log_axis(ax, "y")
            else:
                ax.set_ylim(0, 1.12 * max(seen))  # linear from zero: a small move between machines looks small
            ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 5 else 0)
            ax.set_xlim(-0.5, len(names) - 0.5)
            ax.set_title(metric_label(metric), loc="left")
            ax.set_ylabel(f"x / {view.reference}, 95% CI")
            ax.legend(frameon=False, fontsize=9)
        fig.suptitle("Each ratio to the reference, machine by machine", x=0.01, ha="left", fontweight="bold")
        return save(fig, folder, PLOT_FILE)


# ---------------------------------------------------------------- the report

def load_fleet(folder: Path) -> FleetView:
    """The fleet folder's manifest and every measured node's run; a fleet with none measured is a ResultsError."""
    manifest = load_manifest(folder)
    if not manifest.measured:
        missing = "; ".join(f"{n.name} {n.status}" + (f": {n.cause}" if n.cause else "") for n in manifest.missing)
        raise ResultsError(f"{folder}: fleet {manifest.fleet_id} has no measured node"
                           + (f" ({missing})" if missing else ""))
    machines = []
    for node in manifest.measured:
        run = load(Path(folder) / node.results)
        machines.append(Measured(node, run, ReportData(run)))
    return FleetView(manifest, machines)


def build_fleet_report(folder: Path, out_dir: Path) -> Path:
    """Write out_dir/report.md, report.html and fleet_ratios.png for a fleet folder; return report.md's path."""
    view = load_fleet(Path(folder))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot = draw(view, out)
    if plot is None:
        (out / PLOT_FILE).unlink(missing_ok=True)  # from an earlier report in this folder
    text = render(view, plot)
    write_atomic(out / HTML_FILE, html.render(text, out, title=f"isobench fleet report {view.manifest.fleet_id}"))
    return write_atomic(out / REPORT_FILE, text)
