"""report.md, section by section. Every number comes from the results file
(or, for the published figures, from anchors.py); none is typed here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.paths import REPO_ROOT
from harness.report import anchors, caveats, conditions, fmt, methodology, scale
from harness.report.data import MEMORY_KINDS, ReportData
from harness.report.headline import compute_headline, first_isolate_note, others_line, shim_note
from harness.analysis.summary import REFERENCE_BACKEND

# (summary key, label, unit, raw samples getter name)
TIMINGS = (
    ("cold_start_ms", "cold start", "ms", "cold_ms"),
    ("first_isolate_ms", "first isolate in a fresh process", "ms", "first_isolate_ms"),
    ("warm_call_us", "warm call", "µs", "warm_us"),
    ("transport_us", "transport round trip", "µs", "transport_us"),
    ("engine_call_us", "in-engine handler time", "µs", "engine_us"),
)
# Ratios with a bootstrap interval, as harness.analysis.summary computes them.
SUMMARY_RATIOS = {"cold_start_ms": "cold_start", "warm_call_us": "warm_call"}


def display_path(path: Path | None) -> str:
    if path is None:
        return "(in memory)"
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def title_block(data: ReportData) -> list[str]:
    record, machine = data.results.record, data.results.machine
    profile = (record.get("profile") or {}).get("name", "?")
    commit = ((machine.get("git") or {}).get("commit") or "?")[:10]
    source = display_path(data.results.path)
    lines = ["# isobench report", ""]
    for banner in (caveats.injected_banner(data), caveats.status_banner(data)):
        if banner:
            lines += [banner, ""]
    lines += headline_block(data)
    lines += [f"Profile **{profile}**, run {record.get('started', '?')[:16].replace('T', ' ')} UTC on "
              f"{machine.get('cpu_model', '?')} ({machine.get('cpu_count', '?')} CPUs), harness commit `{commit}`. "
              f"Built from `{source}` only; rebuild with `python -m harness report {source}`.", ""]
    return lines


def headline_block(data: ReportData) -> list[str]:
    headline = compute_headline(data.summary)
    lines = [headline.text, ""]
    notes = [note for note in (others_line(data.summary), first_isolate_note(data.summary),
                               shim_note(data.summary)) if note]
    lines += [*[f"- {note}" for note in notes], ""] if notes else []
    return lines


def backends_block(data: ReportData) -> list[str]:
    lines = ["| backend | one instance is | the harness talks to it through |", "|---|---|---|"]
    for name in data.names:
        status = data.results.record.get("backends", {}).get(name, {})
        if data.entry(name).get("available"):
            lines.append(f"| **{name}** | {fmt.cell(status.get('summary', '–'))} | "
                         f"{fmt.cell(status.get('transport', '–'))} |")
        else:
            lines.append(f"| **{name}** | *not measured: {fmt.cell(data.entry(name).get('reason') or '?')}* | |")
    return lines + [""]


def _ratio_cell(data: ReportData, key: str, name: str) -> str:
    if name == REFERENCE_BACKEND:
        return "1 (reference)"
    reference = data.entry(REFERENCE_BACKEND).get(key)
    mine = data.entry(name).get(key)
    if not reference or not mine:
        return "–"
    pair = f"{name}/{REFERENCE_BACKEND}"
    ratio = data.summary["ratios"].get(SUMMARY_RATIOS.get(key, ""), {}).get(pair)
    if ratio:
        ci = ratio.get("ci95")
        return f"{fmt.ratio(ratio['value'])}x" + (f" [{fmt.interval(ci, fmt.ratio)}]" if ci else "")
    return f"{fmt.ratio(mine['median'] / reference['median'])}x †"


def summary_block(data: ReportData) -> list[str]:
    lines = ["## Summary", "",
             f"Timings: median with its 95% confidence interval, p99, sample count n, coefficient of variation, "
             f"and each backend's median over the {REFERENCE_BACKEND}'s (above 1: slower than the isolate).", "",
             "| figure | backend | median | 95% CI | p99 | n | CV | × isolate [95% CI] |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    dagger = False
    for key, label, unit, _ in TIMINGS:
        first = True
        for name in data.measured:
            metric = data.entry(name).get(key)
            if not metric:
                continue
            ratio = _ratio_cell(data, key, name)
            dagger = dagger or ratio.endswith("†")
            lines.append(f"| {f'{label}, {unit}' if first else ''} | {name} | {fmt.number(metric['median'])} "
                         f"| {fmt.interval(metric.get('ci95'))} | {fmt.number(metric['p99'])} | {metric['n']} "
                         f"| {fmt.percent(metric.get('cv'))} | {ratio} |")
            first = False
    lines.append("")
    if dagger:
        lines += ["† ratio of medians only; the bootstrap interval is computed for cold start and warm call.", ""]
    lines += _memory_table(data)
    return lines


def _memory_table(data: ReportData) -> list[str]:
    rows = {name: data.memory_per_instance_mib(name) for name in data.measured}
    rows = {name: values for name, values in rows.items() if values}
    if not rows:
        return []
    kinds = [kind for kind in MEMORY_KINDS if any(kind in values for values in rows.values())]
    pss_ratios = data.summary["ratios"].get("memory_pss", {})
    lines = ["Memory per instance, MiB: growth over the baseline with N instances alive at once, divided by N "
             "(the kinds are explained under Methodology).", "",
             f"| backend | {' | '.join(MEMORY_KINDS[k] for k in kinds)} | N | PSS per added instance "
             "| PSS × isolate |",
             f"|---|{'---:|' * len(kinds)}---:|---:|---:|"]
    for name, values in rows.items():
        cells = " | ".join(fmt.number(values.get(kind)) for kind in kinds)
        ratio = "1 (reference)" if name == REFERENCE_BACKEND else (
            f"{fmt.ratio(pss_ratios[f'{name}/{REFERENCE_BACKEND}']['value'])}x"
            if f"{name}/{REFERENCE_BACKEND}" in pss_ratios else "–")
        slope = (data.entry(name).get("memory_slope_mb") or {}).get("pss")
        lines.append(f"| {name} | {cells} | {data.entry(name).get('memory_at_n', '–')} | {fmt.number(slope)} "
                     f"| {ratio} |")
    return lines + [""]


def _image(plots: dict, key: str, alt: str) -> list[str]:
    return [f"![{alt}]({plots[key]})", ""] if key in plots else []


def cold_start_plot(plots: dict) -> list[str]:
    if "cold_start" not in plots:
        return []
    return _image(plots, "cold_start", "Cold start per backend, every sample, log scale") + [
        "Each dot is one fresh instance, from the request for it to its first answer; the black bar is the median "
        "and the shaded box its 95% confidence interval. Hollow dots: the first isolate of a fresh Python process, "
        "which also starts V8's platform.", ""]


def figures_block(data: ReportData, plots: dict) -> list[str]:
    lines = ["## Cold start", ""]
    lines += ["Where a cold start's time goes, phase by phase (the cold-start plot is at the top):", ""] \
        if "cold_start_phases" in plots else []
    lines += _image(plots, "cold_start_phases", "Cold-start phases, stacked per backend")
    lines += _phase_text(data)
    lines += ["## Warm call", ""]
    lines += _image(plots, "warm_call", "Warm-call latency ECDF per backend, log scale")
    lines += _image(plots, "warm_call_breakdown", "In-engine, transport and warm-call medians per backend")
    lines += _warm_text(data)
    lines += ["## Memory", ""]
    lines += _image(plots, "memory", "Memory per instance per backend, by kind of figure")
    lines += _image(plots, "memory_vs_n", "Memory against the number of instances alive")
    if "memory_vs_n" in plots:
        lines += ["Left: the PSS the instances add over the baseline as N grows. Right: the same divided by N. "
                  "A process or container pays for its shared pages (node's code, libraries) once; later ones "
                  "share them, so their cost per instance falls with N.", ""]
    lines += scale.section(data, plots)  # density and concurrency
    return lines


def _phase_text(data: ReportData) -> list[str]:
    out = []
    for name in data.measured:
        phases = data.phases_ms(name)
        if not phases:
            continue
        medians = {phase: float(np.median(values)) for phase, values in phases.items()}
        total = sum(medians.values())
        largest = max(medians, key=medians.get)
        out.append(f"- **{name}**: {' → '.join(f'{p} {fmt.number(v)}' for p, v in medians.items())} ms; "
                   f"the largest is `{largest}` ({fmt.percent(medians[largest] / total)}).")
    return out + [""] if out else []


def _warm_text(data: ReportData) -> list[str]:
    out = []
    for name in data.measured:
        entry = data.entry(name)
        warm, engine, transport = entry.get("warm_call_us"), entry.get("engine_call_us"), entry.get("transport_us")
        if not warm:
            continue
        parts = [f"warm call {fmt.number(warm['median'])} µs (p99 {fmt.number(warm['p99'])})"]
        if transport:
            parts.append(f"transport alone {fmt.number(transport['median'])} µs")
        if engine:
            parts.append(f"the handler itself {fmt.number(engine['median'])} µs in the engine, so binding overhead "
                         f"is {fmt.number(entry['binding_overhead_us'])} µs "
                         f"({fmt.percent(entry['binding_overhead_us'] / warm['median'])} of the call)")
        out.append(f"- **{name}**: {'; '.join(parts)}.")
    return out + [""] if out else []


def published_block(plots: dict) -> list[str]:
    lines = ["## Measured here versus published", ""]
    lines += _image(plots, "published", "Cold start and memory measured here next to published figures")
    lines += ["The published figures below were **not measured here**: they come from other machines, other "
              "methods and other years. Each is marked as a published claim (no method or distribution given) "
              "or a published measurement.", "",
              "| figure | value | kind | source | conditions |", "|---|---:|---|---|---|"]
    for anchor in anchors.ANCHORS:
        lines.append(f"| {fmt.cell(anchor.figure)} | {fmt.cell(anchor.stated())} | {anchor.kind} "
                     f"| {fmt.cell(anchor.source)} | {fmt.cell(anchor.conditions)} |")
    return lines + [""]


def caveats_block(data: ReportData) -> list[str]:
    items = caveats.caveats(data)
    if not items:
        return ["## Caveats", "", "None that the data shows.", ""]
    return ["## Caveats", "", *[f"- {item}" for item in items], ""]


def comparison_block(data: ReportData, baseline) -> list[str]:
    """`--baseline`: every figure old vs new, via harness.analysis.compare (the regression check)."""
    lines = ["## Compared with the baseline", "",
             f"Baseline: `{display_path(baseline.path)}`; this run: `{display_path(data.results.path)}`.", ""]
    try:
        from harness.analysis.compare import compare_results
    except ModuleNotFoundError as error:
        if error.name != "harness.analysis.compare":
            raise
        return lines + ["The comparison module (`harness/compare.py`, the regression check) is missing from this "
                        "tree, so no comparison is shown.", ""]
    try:
        comparison = compare_results(baseline, data.results)
    except ValueError as error:
        return lines + [f"The two runs cannot be compared: {error}.", ""]
    for warning in comparison.get("warnings") or []:
        lines += [f"> **Warning:** {fmt.cell(warning)}", ""]
    lines += ["| backend | figure | old median | new median | new / old [95% CI] | p | verdict |",
              "|---|---|---:|---:|---:|---:|---|"]
    for row in comparison.get("rows") or []:
        unit = f", {row['unit']}" if row.get("unit") else ""
        ci = row.get("ratio_ci95")
        change = f"{row['ratio']:.3f}" + (f" [{ci[0]:.3f}–{ci[1]:.3f}]" if ci else "")
        p = row.get("p_value")
        p_text = "–" if p is None else (f"{p:.1e}" if p < 0.001 else f"{p:.3f}")
        verdict = row["verdict"]
        verdict = f"**{verdict}**" if verdict == "regression" else verdict
        if row.get("note"):
            verdict += f" ({fmt.cell(row['note'])})"
        lines.append(f"| {fmt.cell(row['backend'])} | {fmt.cell(row['metric'])}{unit} | {fmt.number(row['old_median'])} "
                     f"| {fmt.number(row['new_median'])} | {change} | {p_text} | {verdict} |")
    counts = {v: sum(1 for r in comparison.get("rows") or [] if r["verdict"] == v)
              for v in ("regression", "improvement", "no significant change")}
    threshold, alpha = comparison.get("threshold"), comparison.get("alpha")
    rule = f" A change counts when it is beyond {threshold:.0%} and p < {alpha}." if threshold and alpha else ""
    lines += ["", f"{counts['regression']} regression(s), {counts['improvement']} improvement(s), "
                  f"{counts['no significant change']} without significant change.{rule}", ""]
    for note in comparison.get("notes") or []:
        lines.append(f"- {note}")
    return lines + [""]


def containment_block(containment, out_dir: Path) -> list[str]:
    """The isolation matrix (issue 5): harness/report/containment.py provides
    `section(containment, out_dir) -> str` (markdown; it may write its own PNGs
    into out_dir). `containment` is what `--containment FILE` gives build_report."""
    try:
        from harness.report import containment as module
    except ModuleNotFoundError as error:
        if error.name != "harness.report.containment":
            raise
        return ["## Containment", "", "The containment module (`harness/report/containment.py`) is missing from "
                "this tree, so the isolation matrix is not shown.", ""]
    return [module.section(containment, out_dir), ""]


def render(data: ReportData, plots: dict, out_dir: Path, baseline=None, containment=None) -> str:
    lines = title_block(data) + cold_start_plot(plots)
    lines += backends_block(data)
    lines += summary_block(data)
    lines += figures_block(data, plots)
    lines += published_block(plots)
    lines += caveats_block(data)
    if baseline is not None:
        lines += comparison_block(data, baseline)
    if containment is not None:
        lines += containment_block(containment, out_dir)
    lines.append(methodology.section(data))
    lines.append(conditions.section(data))
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"
