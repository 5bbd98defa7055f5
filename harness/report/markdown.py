"""report.md, section by section. The first screen answers the question (the
headline, what it means, the trade-off map); the body stays under BODY_WORDS
words outside <details>; methodology and detail are collapsed. Every number
comes from the run (or, for published figures, from claims.py)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.paths import REPO_ROOT
from harness.report import at_scale, claims, conditions, containment as containment_section, fmt, methodology, scale
from harness.report import workloads as workloads_section
from harness.report.data import ReportData
from harness.report.headline import headline, what_this_means
from harness.suites import SUITES

BODY_WORDS = 2500


def display_path(path: str | Path | None) -> str:
    if path is None:
        return "(in memory)"
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def banners(data: ReportData) -> list[str]:
    run, out = data.run, []
    if run.injected:
        faults = "; ".join(f"{n}: {d.describe()}" for n, d in run.injected.items())
        out.append(f"> **Injected faults (test only):** faults were put into this run on purpose ({faults}). "
                   "Its figures are not measurements of the backends.")
    if run.status != "complete":
        out.append(f"> **This run is {run.status}.** Some figures may be missing"
                   + (f"; lost trials: {', '.join(str(t.index) for t in run.lost_trials)}." if run.lost_trials else "."))
    if run.migrated_from:
        out.append("> **Written by isobench 1:** one process, no trials; its intervals leave out run-to-run spread.")
    return [line for banner in out for line in (banner, "")]


def _image(plots: dict, key: str, alt: str) -> list[str]:
    return [f"![{alt}]({plots[key]})", ""] if key in plots else []


def first_screen(data: ReportData, plots: dict, workloads=None) -> list[str]:
    run = data.run
    grown = workloads_section.growth_sentence(workloads) if workloads is not None else None
    lines = ["# isobench report", "", *banners(data), headline(data).text + (f" {grown[0]}" if grown else ""), ""]
    meaning = what_this_means(data).text
    if meaning:
        lines += ["## What this means", "", meaning, ""]
    lines += _image(plots, "tradeoff", "Trade-off map: cold start against memory per instance, per backend")
    if "tradeoff" in plots:
        lines += ["Each point is one backend: its median cold start and memory per instance with their 95% "
                  "intervals, coloured by family; n/m is how many hostile workers it contained.", ""]
    lines += [f"Profile `{run.profile.name}`, {len(run.complete_trials)} trials, {run.machine.cpu_model} "
              f"({run.machine.cpu_count} CPUs), commit `{(run.provenance.commit or '?')[:10]}`. Built from "
              f"`{display_path(run.path)}` alone: `python -m harness report {display_path(run.path)}`.", ""]
    return lines


def glance(data: ReportData) -> list[str]:
    ref = data.reference
    lines = ["## At a glance", "",
             f"Medians with 95% confidence intervals for this machine's median now (an interval whose trials "
             f"cannot give 95% is marked with the coverage they give); × is over the {ref or 'reference'} (paired by trial). Memory is per "
             "instance, counted as fits the instance: the host's USS growth in-process, PSS for a process, the "
             "cgroup plus its shim for a container.", "",
             "| family | backend | cold start, ms | × | warm call, µs | memory, MiB | per GiB | contained |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name in data.names:
        family = data.family_label(name)
        if not data.entry(name).available:
            lines.append(f"| {family} | {name} | *not measured: {fmt.cell(data.entry(name).reason)}* | | | | | |")
            continue
        cold, warm, memory = data.cold_start(name), data.warm_call(name), data.memory(name)
        ratio = "1" if name == ref else (lambda r: f"{fmt.ratio(r.value)}" if r else "–")(data.ratio("cold_start", name))
        density = data.density(name).instances_per_gib if data.density(name) else None
        score = data.containment_score(name)
        lines.append(f"| {family} | **{name}** | {_with(cold)} | {ratio} | {_with(warm)} | {_with(memory)} "
                     f"| {fmt.number(density)} | {f'{score[0]}/{score[1]}' if score else '–'} |")
    return lines + [""]


def _with(value) -> str:
    if value is None:
        return "–"
    return fmt.number(value.value) + (f" [{fmt.ci(value)}]" if value.ci else "")


def published(data: ReportData) -> list[str]:
    return ["## Published figures beside these", "",
            "Each published figure is set beside the measurement of the same quantity here (or said to have none). "
            f"A verdict agrees when the two are within a factor {claims.AGREE:g}. Sources: `docs/sources.md`.", "",
            *claims.table(data), ""]


def cold_start_section(data: ReportData, plots: dict) -> list[str]:
    lines = ["## Cold start", ""]
    lines += _image(plots, "cold_start", "Cold start per backend: median, 95% interval, trial medians, CPU time")
    lines += _image(plots, "cold_start_phases", "Cold-start phases as shares of each backend's start")
    slow_phase = []
    for name in data.measured:
        phases = data.phases_ms(name)
        if phases:
            largest = max(phases, key=phases.get)
            slow_phase.append(f"{name}: `{largest}` ({fmt.percent(phases[largest] / sum(phases.values()))})")
    if slow_phase:
        lines += ["The largest phase of each start: " + "; ".join(slow_phase) + ".", ""]
    return lines


def warm_section(data: ReportData, plots: dict) -> list[str]:
    lines = ["## Warm calls", ""]
    lines += _image(plots, "warm_call", "Warm-call and transport ECDFs per backend")
    rows = []
    for name in data.measured:
        warm, transport, engine = data.warm_call(name), data.transport(name), data.engine(name)
        if not warm:
            continue
        inside = "–"
        if engine:
            inside = fmt.number(engine.net.median) if engine.net else "below resolution"
        share = f"{fmt.percent(transport.value / warm.value)}" if transport else "–"
        awake = data.warm_call_awake(name)
        wake = data.wake_cost(name)
        wake_cell = (fmt.number(wake.median) + (f" [{fmt.interval(wake.ci95)}]" if wake.ci95 else "")
                     if wake else "–")
        rows.append(f"| {name} | {_with(warm)} | {_with(awake) if awake else '–'} | {wake_cell} | {_with(transport)} "
                    f"| {share} | {inside} |")
    if rows:
        lines += ["Each call is followed by a timed ping on the same instance, so a call and the transport it rides "
                  "on share their time window; the handler's own time is measured inside the engine. Calls are "
                  "timed in two CPU regimes, in blocks interleaved in random order: with idle CPUs (as the machine "
                  "is: an idle CPU sleeps, and waking it for the answer is timed) and with the CPUs held awake "
                  "(a PM QoS request at 0 µs). The difference is what waking an idle CPU adds to a call here; the "
                  "conclusions about calls are drawn from the awake regime.", "",
                  "| backend | warm call, µs, idle CPUs | CPUs awake | waking adds, µs | transport alone, µs (idle) "
                  "| transport share | handler in the engine, ns |",
                  "|---|---:|---:|---:|---:|---:|---:|", *rows, ""]
    lines += _steady_state_table(data)
    return lines


def _steady_state_table(data: ReportData) -> list[str]:
    """Per backend and CPU regime: how the warm-call series settles (harness/analysis/steady_state.py)."""
    rows = []
    for name in data.measured:
        for regime, found in data.steady_state(name).items():
            rows.append(f"| {name} | {regime} | {found.classification} | {', '.join(found.per_trial)} "
                        f"| {fmt.number(found.calls_until_steady) if found.calls_until_steady is not None else '–'} "
                        f"| {fmt.number(found.steady_median_us) if found.steady_median_us is not None else '–'} |")
    if not rows:
        return []
    return ["**Steady state.** Each trial's series of calls, from the first call after the cold start, is cut at "
            "its changepoints (PELT, in the manner of Barrett et al. 2017) and classified: *flat*, *warm-up* (got "
            "faster and stayed there), *slowdown*, or *no steady state* (still changing near its end); over trials, "
            "*inconsistent* when they disagree. Calls until steady state is how many requests a fresh instance "
            "serves before it is as fast as it gets.", "",
            "| backend | CPUs | class | per trial | calls until steady | steady-state median, µs |",
            "|---|---|---|---|---:|---:|", *rows, ""]


def memory_section(data: ReportData, plots: dict) -> list[str]:
    lines = ["## Memory", ""]
    return lines + _image(plots, "memory", "Memory per instance per backend, by kind")


def since_baseline(data: ReportData, baseline) -> list[str]:
    """The significant changes since a baseline run (or set), and figures outside its interval, explained."""
    from harness.findings.compare import IMPROVEMENT, REGRESSION, CompareSettings, IncompatibleResults, compare

    baselines = baseline if isinstance(baseline, list) else [baseline]
    lines = ["## Since the baseline", "", f"Baseline: {', '.join(f'`{display_path(b.path)}`' for b in baselines)}.", ""]
    try:
        comparison = compare(baselines, data.run, CompareSettings())
    except (ValueError, IncompatibleResults) as error:
        return lines + [f"The runs cannot be compared: {error}.", ""]
    changed = [r for r in comparison.rows if r.verdict in (REGRESSION, IMPROVEMENT)]
    if changed:
        lines += ["| backend | figure | before | now | now / before [95% CI] | verdict |", "|---|---|---:|---:|---:|---|"]
        for row in changed:
            ci = row.ratio_ci95
            lines.append(f"| {row.backend} | {row.metric} | {fmt.number(row.old_median)} "
                         f"| {fmt.number(row.new_median)} | {row.ratio:.3f}"
                         + (f" [{ci[0]:.3f}–{ci[1]:.3f}]" if ci else "") + f" | {row.verdict} |")
    else:
        lines.append(f"No significant change among {len(comparison.rows)} figures (beyond "
                     f"{comparison.settings.threshold:.0%} and p < {comparison.settings.alpha}).")
    checked = [r for r in comparison.rows if r.inside_baseline_ci is not None and r.kind in ("timing", "memory")
               and (r.metric.startswith("cold_start") or r.metric.startswith("memory"))]
    outside = [r for r in checked if not r.inside_baseline_ci]
    if checked:
        lines += ["", f"{len(checked) - len(outside)} of {len(checked)} cold-start and memory figures lie inside the "
                      "baseline's own 95% interval."]
        for row in outside:
            cold = data.spread(row.backend) if row.backend in data.run.backends else None
            spread = cold.between_trials_cv if cold and row.metric.startswith("cold_start") else None
            why = (f"its trials here differ by {fmt.percent(spread)} between themselves, so two runs of "
                   f"{len(data.run.complete_trials)} trials can differ by about that much"
                   if spread is not None else "memory moves little between runs, so this is a real change or a "
                                              "different machine state")
            lines.append(f"- Outside: {row.backend} {row.metric}: {fmt.number(row.old_median)} → "
                         f"{fmt.number(row.new_median)} ({row.ratio:.3f}x); {why}.")
    for warning in comparison.warnings:
        lines.append(f"- Note: {fmt.cell(warning)}")
    return lines + [""]


def figures_section(data: ReportData, suite) -> list[str]:
    """A suite that names no section of its own: its timing figures per backend, median [95% interval]."""
    figures = [figure for figure in suite.figures if figure.series]
    rows = [(name, [data.timing(name, figure.key) for figure in figures]) for name in data.measured]
    rows = [(name, values) for name, values in rows if any(values)]
    if not rows:
        return []
    lines = [f"## {suite.label[:1].upper()}{suite.label[1:]}", "",
             "| backend | " + " | ".join(f"{figure.label}, {figure.unit}" for figure in figures) + " |",
             "|---|" + "---:|" * len(figures)]
    lines += [f"| {name} | " + " | ".join(_with(value) for value in values) + " |" for name, values in rows]
    return lines + [""]


SECTIONS = {"cold_start": cold_start_section, "warm_call": warm_section, "memory": memory_section,
            "scale": scale.section, "at_scale": at_scale.section}  # the sections that suites name (Suite.report)


def render(data: ReportData, plots: dict, baseline=None, workloads=None) -> str:
    lines = first_screen(data, plots, workloads) + glance(data) + published(data)
    if workloads is not None:
        lines += workloads_section.section(workloads, plots)
    for section in dict.fromkeys(suite.report or suite.name for suite in SUITES.values()):
        lines += SECTIONS[section](data, plots) if section in SECTIONS else figures_section(data, SUITES[section])
    if data.containment:
        lines += containment_section.section(data, data.containment)
    if baseline is not None:
        lines += since_baseline(data, baseline)
    lines += methodology.section(data) + conditions.section(data)
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def body_words(text: str) -> int:
    """Words a reader meets without opening anything: outside <details>, images and table rules left out."""
    outside = re.sub(r"<details>.*?</details>", " ", text, flags=re.S)
    outside = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", outside)
    outside = "\n".join(line for line in outside.splitlines() if not re.fullmatch(r"\|[-:| ]+\|", line.strip()))
    return len([word for word in re.split(r"[\s|]+", outside) if re.search(r"\w", word)])
