"""The methodology section: for every figure, where its timer starts and stops
(the `timer` each benchmark recorded, with the README's wording around it) or
what its memory includes (the `scopes` each sweep recorded); how many samples,
which were discarded; how intervals, ratios and outliers are computed."""

from __future__ import annotations

from harness.analysis import bootstrap
from harness.analysis import stats
from harness.report import fmt
from harness.report.data import MEMORY_LABELS, ReportData

# From README.md, "What each figure means".
MEANING = {
    "cold_start": "From the harness asking the backend for a fresh instance to the harness receiving the first "
                  "handler answer: isolate creation (or process spawn, or container create + start), the runtime "
                  "becoming ready, loading the worker, and the first call. Stopping the instance is not timed. "
                  "One fresh instance per round.",
    "phases": "The same interval cut at each step (the phase names in the phase plot). Each bar shows the median "
              "of each phase, so a bar's length is close to, but not exactly, the median cold start.",
    "first_isolate": "The first `MiniRacer()` of a process also loads libmini_racer and starts V8's platform. It "
                     "is sampled separately, each time in a fresh Python interpreter, and never mixed with the "
                     "steady cold start.",
    "warm_call": "One handler call on a live instance, from the request leaving the harness to the answer "
                 "arriving; pytest-benchmark calibrated rounds after discarded warmup calls.",
    "engine": "The handler's own time, measured in the engine by a JS clock: the handler runs in a loop until the "
              "loop lasts long enough, and the loop time is divided by the calls. It is the JIT-hot time of the "
              "handler.",
    "transport": "One round trip through the backend's channel that does not run the handler. The binding "
                 "overhead is warm call minus in-engine time: transport, JSON and the runtime wrapper.",
    "memory": "N instances are held alive at once, and each figure's growth over the backend's baseline is "
              "divided by N, at the largest N. The growth per added instance (least squares over N ≥ 2) is "
              "given beside it.",
}
KINDS = {
    "uss": "unique set size: private pages, freed when the process exits",
    "pss": "proportional set size: shared pages split among the processes that map them",
    "rss": "resident set size: shared pages counted in every process",
    "cgroup": "the container's memory cgroup (v1: memory.stat rss + cache; v2: memory.current)",
    "shim_pss": "the PSS of each container's containerd-shim, which lives outside the container's cgroup",
    "v8_heap_physical": "V8's heap_stats(): the V8 heap only, not all the memory an isolate costs",
    "v8_heap_used": "V8's heap_stats(): the V8 heap only, not all the memory an isolate costs",
    "docker_stats": "what `docker stats` shows (usage minus inactive file pages), for reference",
    "runtime_pss": "the PSS of the foreground `runc run` / `crun run` process, the container's parent in place of "
                   "the shim, outside the container's cgroup",
    "linear_memory": "the size of each Wasm Store's linear memory (pages grown, touched or not)",
    "in_process_anon": "anonymous pages (heap, isolates) of one workerd process hosting N workers: its slope is the "
                       "cost of one more worker in the same process",
    "in_process_rss": "the RSS of that one workerd process hosting N workers",
}


def _timers(data: ReportData, metric: str) -> list[str]:
    """'isolate, subprocess: <timer>' lines, one per distinct recorded timer."""
    by_timer: dict[str, list[str]] = {}
    for name in data.measured:
        bench = data.results.find(name, metric)
        if bench and bench.extra.get("timer"):
            by_timer.setdefault(bench.extra["timer"], []).append(name)
    return [f"timer ({', '.join(names)}): `{timer}`" for timer, names in by_timer.items()]


def _counts(data: ReportData, key: str) -> str:
    counts = [f"{name} {data.entry(name)[key]['n']}" for name in data.measured if data.entry(name).get(key)]
    return f"samples: {', '.join(counts)}" if counts else ""


def section(data: ReportData) -> str:
    record = data.results.record
    profile = record.get("profile") or {}
    lines = ["## Methodology", ""]
    lines.append(f"Profile **{profile.get('name', '?')}**. All times are wall-clock, `time.perf_counter` in the "
                 "harness process, unless said otherwise. Every backend runs the same worker bundle.")
    lines.append("")

    cold = [MEANING["cold_start"], *_timers(data, "cold_start"), _counts(data, "cold_start_ms")]
    warmups = {data.results.find(n, "cold_start").extra.get("warmup_rounds_discarded")
               for n in data.measured if data.results.find(n, "cold_start")}
    warmups.discard(None)
    if warmups:
        cold.append(f"warmup rounds discarded per backend: {', '.join(str(w) for w in sorted(warmups))}")
    lines += _figure("Cold start (`cold_start_ms`)", cold)
    lines += _figure("Cold-start phases", [MEANING["phases"]])
    first = [data.results.find(n, "cold_start").extra.get("first_isolate") for n in data.measured
             if data.results.find(n, "cold_start")]
    first = [f for f in first if f]
    if first:
        lines += _figure("First isolate (`first_isolate_ms`)", [
            MEANING["first_isolate"], f"timer: `{first[0].get('timer')}`", _counts(data, "first_isolate_ms")])
    warm = [MEANING["warm_call"], *_timers(data, "warm_call"), _counts(data, "warm_call_us")]
    if profile.get("warm_warmup_calls") is not None:
        warm.append(f"warmup calls discarded per backend: {profile['warm_warmup_calls']}; timing for at most "
                    f"{fmt.number(profile.get('warm_max_time'))} s and at least {profile.get('warm_min_rounds')} "
                    "rounds")
    lines += _figure("Warm call (`warm_call_us`)", warm)
    engine = [MEANING["engine"]]
    for name in data.measured:
        bench = data.results.find(name, "warm_call")
        if bench and bench.extra.get("engine_method"):
            engine.append(f"{name}: clock `{bench.extra.get('engine_clock')}`; {bench.extra['engine_method']}; "
                          f"{len(bench.extra.get('engine_ns_per_call') or [])} loops")
    lines += _figure("In-engine time (`engine_call_us`)", engine)
    lines += _figure("Transport (`transport_us`) and binding overhead",
                     [MEANING["transport"], *_timers(data, "transport"), _counts(data, "transport_us")])
    lines += _figure("Memory per instance (`memory_per_instance_mb`, MiB = 2²⁰ bytes)", [MEANING["memory"]])
    lines += _memory_table(data)

    lines += ["### Statistics", ""]
    lines += [
        f"- **Median and its {stats.CONFIDENCE:.0%} interval**: distribution-free, from order statistics "
        "(`scipy.stats.quantile_test`, as asv and SeBS do). No interval when there are too few samples.",
        "- **p90, p99, IQR**: numpy percentiles (linear interpolation) of the raw samples; **CV** is the "
        "standard deviation over the mean.",
        f"- **Outliers**: modified Z-score on the median absolute deviation, |z| > {stats.OUTLIER_Z} (as hyperfine "
        "does). They are counted, never removed.",
        f"- **Ratios between backends**: ratio of medians with a fixed-seed percentile-bootstrap {stats.CONFIDENCE:.0%} "
        f"interval ({bootstrap.RESAMPLES} resamples, seeded from the samples themselves), so the same samples give "
        f"the same interval. Series of {bootstrap.BLOCKS * bootstrap.MIN_BLOCK} samples or more (warm calls) are "
        f"resampled as the medians of {bootstrap.BLOCKS} contiguous blocks, so drift within a run is not counted "
        "as independent samples. Memory ratios are one sweep against one sweep: no interval.",
    ]
    timer = data.results.machine.get("timer") or {}
    if timer:
        lines.append(f"- **Timer**: `{timer.get('timer')}` ({timer.get('implementation')}), resolution "
                     f"{fmt.number(timer.get('resolution_ns'))} ns, one read costs "
                     f"{fmt.number(timer.get('read_overhead_median_ns'))} ns (median).")
    lines.append("")
    return "\n".join(lines)


def _figure(title: str, items: list[str]) -> list[str]:
    items = [item for item in items if item]
    return [f"**{title}.** {items[0]}", "", *[f"- {item}" for item in items[1:]], ""] if items else []


def _memory_table(data: ReportData) -> list[str]:
    """One row per kind of figure: what it counts, and what each backend's sweep measured it over."""
    kinds: dict[str, list[str]] = {}
    counts = []
    for name in data.measured:
        sweep = data.memory_sweep(name)
        if not sweep:
            continue
        counts.append(f"{name} N = {', '.join(str(n) for n in sweep.get('counts', []))}")
        for kind, scope in (sweep.get("scopes") or {}).items():
            kinds.setdefault(kind, []).append(f"{name}: {fmt.cell(scope)}")
    if not kinds:
        return []
    rows = [f"| {MEMORY_LABELS.get(kind, kind)} | {fmt.cell(KINDS.get(kind, '–'))} | {'<br>'.join(scopes)} |"
            for kind, scopes in kinds.items()]
    settle = (data.results.record.get("profile") or {}).get("memory_settle_s")
    out = ["What each memory figure counts, and what each backend's sweep measured it over:", "",
           "| figure | what it counts | measured over |", "|---|---|---|", *rows, "",
           f"Instances alive at once: {'; '.join(counts)}."]
    if settle is not None:
        out[-1] += (f" Each reading waits {fmt.number(settle)} s after the N-th instance is up. For the isolate, "
                    "freed malloc memory is returned to the kernel before each reading.")
    return out + [""]
