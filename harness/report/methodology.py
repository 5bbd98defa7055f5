"""How the figures were made, collapsed under <details>: the trials, where
each timer starts and stops, what each memory figure counts, how intervals
are computed, how much of the spread is between trials, why sampling stopped,
and what each backend is. Everything comes from the run record."""

from __future__ import annotations

from harness.analysis import bootstrap
from harness.report import fmt
from harness.report.data import ReportData
from harness.results.vocabulary import REGIMES, memory_label, memory_meaning
from harness.suites import FIGURES, IDLE_FIGURES, SUITES


def _trials(data: ReportData) -> list[str]:
    run, profile = data.run, data.run.profile
    cold, warm = SUITES["cold_start"].settings(profile), SUITES["warm_call"].settings(profile)
    complete, lost = len(run.complete_trials), run.lost_trials
    measured = sorted({r for t in run.complete_trials for r in (t.cpu_regimes.get("measured") or ("idle",))},
                      key=list(REGIMES).index)
    regimes = (f" in each CPU regime ({' and '.join(measured)}; the regimes in a new random order each round)"
               if len(measured) > 1 else " with idle CPUs")
    text = (f"The run is **{complete} trial(s)**{f' (and {len(lost)} lost)' if lost else ''}, each a fresh worker "
            f"process that measures every backend. Inside a trial, cold starts run in rounds "
            f"({cold.cold_rounds} kept after {cold.cold_warmups} warmup round(s)); each round starts one "
            f"instance of every backend{regimes}, in a new random order. Warm calls run in {warm.warm_blocks} "
            f"blocks of {warm.warm_block_calls} calls per backend per regime, again in random orders, each call followed by a timed "
            f"ping. Memory is one backend at a time (the harness's own memory counts for in-process backends), in a "
            f"random order. The profile is `{profile.name}`: {profile.description or 'no description'}.")
    lines = [text, ""]
    for trial in lost:
        lines.append(f"- Trial {trial.index} was lost: {trial.cause}.")
    return lines + ([""] if lost else [])


def _timers(data: ReportData) -> list[str]:
    lines = ["| figure | where the timer starts and stops |", "|---|---|"]
    for key in IDLE_FIGURES:
        lines.append(f"| {FIGURES[key].label} ({FIGURES[key].unit}) | {fmt.cell(FIGURES[key].meaning)} |")
    lines += ["", "CPU regimes: " + "; ".join(f"**{name}**, {meaning}" for name, meaning in REGIMES.items())
              + ". Every figure above is timed with idle CPUs unless its label says the CPUs were held awake; "
              "cold starts and warm calls are timed in both, interleaved."]
    scopes = {data.result(n).cold_start.cpu_scope for n in data.measured
              if data.result(n).cold_start and data.result(n).cold_start.cpu_scope}
    lines += ["", "CPU time counts, per backend: " + "; ".join(
        f"`{n}`: {data.result(n).cold_start.cpu_scope}" for n in data.measured
        if data.result(n).cold_start and data.result(n).cold_start.cpu_scope) + "." if scopes else ""]
    return lines + [""]


def _memory(data: ReportData) -> list[str]:
    kinds: dict[str, list[str]] = {}
    for name in data.measured:
        memory = data.result(name).memory
        for kind, scope in (memory.scopes if memory else {}).items():
            kinds.setdefault(kind, []).append(f"{name}: {scope}")
    if not kinds:
        return []
    lines = ["| memory figure | what it counts | measured over |", "|---|---|---|"]
    for kind, scopes in kinds.items():
        lines.append(f"| {memory_label(kind)} | {fmt.cell(memory_meaning(kind))} | {fmt.cell('<br>'.join(scopes))} |")
    counts = "; ".join(f"{n} N = {', '.join(map(str, data.result(n).memory.sweeps[0].counts))}"
                       for n in data.measured if data.result(n).memory and data.result(n).memory.sweeps)
    return lines + ["", f"Instances alive at once: {counts}. Memory per instance is the growth over the backend's "
                        f"baseline divided by N at the largest N, one value per trial; its interval resamples the "
                        "trials.", ""]


def _statistics(data: ReportData) -> list[str]:
    lines = [
        f"- **Intervals** are {int(bootstrap.CONFIDENCE * 100)}% bootstrap confidence intervals for this "
        f"machine's median at this time ({bootstrap.RESAMPLES} replicates, seeded from the data): each replicate "
        f"draws the trials with replacement (and, with fewer than {bootstrap.TOP_ONLY_FROM} trials, each drawn "
        f"trial's samples); long series inside a trial are cut into {bootstrap.BLOCKS} blocks first, except for "
        "tail percentiles. With few trials the interval is the expanded percentile interval, and one from fewer "
        "than 6 trials is marked with the coverage its trials allow (75% for 3). Ratios between backends "
        "resample the trials they share together (paired). See `harness/analysis/bootstrap.py`.",
        "- **What they do not cover.** A rerun's estimate has an error of its own: a 95% confidence interval holds "
        "it only about 83% of the time, and the summary's prediction intervals (\"a rerun here\") are for that. "
        "Neither covers drift between runs hours or days apart, or another host of the same kind: **absolute "
        "times hold for this machine at this time; the ratios between backends carry further** "
        "(docs/coverage-study.md measures both).",
        "- **Spread between and within trials**: one-way variance components of log values, as CVs; "
        "\"trials for ±5%\" scales today's standard error by the square root of the trial count.",
        "- **In-engine time**: the handler loop minus the same loop with identity, shown only above that loop's "
        "own cost and twice the JS clock's step spread over the calls; otherwise \"below resolution\".",
        "",
        "| backend | cold start: between trials | within a trial | trials for ±5% | CPU time: between | within |",
        "|---|---:|---:|---:|---:|---:|"]
    for name in data.measured:
        wall, cpu = data.spread(name), data.spread(name, "cold_start_cpu_ms")
        if not wall:
            continue
        lines.append(f"| {name} | {fmt.percent(wall.between_trials_cv)} | {fmt.percent(wall.within_trial_cv)} "
                     f"| {wall.trials_for_5pct or '–'} | {fmt.percent(cpu.between_trials_cv if cpu else None)} "
                     f"| {fmt.percent(cpu.within_trial_cv if cpu else None)} |")
    stops = data.run.stopping
    if stops:
        by_reason: dict[str, int] = {}
        for stop in stops:
            by_reason[stop.stopped_because] = by_reason.get(stop.stopped_because, 0) + 1
        lines += ["", f"Sampling stopped for {len(stops)} figures: " + ", ".join(
            f"{count} because " + (f"their interval reached ±{fmt.percent(data.run.profile.stopping.target_half_width)}"
                                   if reason == "precision" else f"of the {reason}")
            for reason, count in by_reason.items()) + "."]
    return lines + [""]


def _backends(data: ReportData) -> list[str]:
    lines = ["| backend | family | one instance is | the harness talks to it through |", "|---|---|---|---|"]
    for name in data.names:
        info = data.result(name).info
        if data.entry(name).available:
            lines.append(f"| {name} | {data.family_label(name)} | {fmt.cell(info.summary)} | {fmt.cell(info.transport)} |")
        else:
            lines.append(f"| {name} | {data.family_label(name)} | *not measured: {fmt.cell(data.entry(name).reason or '?')}* | |")
    return lines + [""]


def section(data: ReportData) -> list[str]:
    body = ["## How this was measured", "", "<details><summary>Trials, timers, memory figures, statistics, and "
            "what each backend is</summary>", ""]
    body += _trials(data) + _timers(data) + _memory(data) + _statistics(data) + _backends(data)
    return body + ["</details>", ""]
