"""Caveats the data shows, each a markdown bullet computed from the results:
an unfinished run, unavailable backends, wide spreads, outliers, intervals
that small samples cannot give, overhead that hides the handler, a coarse
engine clock, a busy or dirty machine."""

from __future__ import annotations

from harness.analysis import figures
from harness.report import fmt
from harness.report.data import ReportData
from harness.analysis.stats import OUTLIER_Z
from harness.analysis.summary import REFERENCE_BACKEND

HIGH_CV = 0.25  # stdev/mean above this is called a wide spread
DOMINANT_OVERHEAD = 0.9  # binding overhead above this share of the warm call "dominates"
SLOPE_GAP = 0.15  # per-instance memory at N and the marginal slope differ by more than this
BUSY_LOAD_PER_CPU = 0.5  # 1-minute load average per CPU above this is a busy machine
COARSE_CLOCKS = {"Date.now": 1.0}  # engine clock -> resolution in ms
TIMINGS = (("cold_start_ms", "cold start"), ("first_isolate_ms", "first-isolate start"), ("warm_call_us", "warm call"),
           ("transport_us", "transport"), ("engine_call_us", "in-engine time"))


def status_banner(data: ReportData) -> str | None:
    status = data.summary["status"]
    if status == "complete":
        return None
    record = data.results.record
    requested = record.get("requested_backends") or []
    missing = [name for name in requested if not data.entry(name).get("available")]
    what = {"interrupted": "the run was interrupted before it finished",
            "some-tests-failed": "some suites failed", "running": "the run did not record how it ended"}
    reason = what.get(status, f"the run ended with status {status!r}")
    tail = f" Backends without figures: {', '.join(missing)}." if missing else ""
    return (f"> **Partial results: {reason} (status `{status}`).** Only the samples measured before it "
            f"stopped are shown; figures may be missing or rest on fewer samples than the profile asks for.{tail}")


def injected_banner(data: ReportData) -> str | None:
    faults = figures.injected(data.results)
    if not faults:
        return None
    delays = ", ".join(f"{name} +{ms:g} ms" for name, ms in (faults.get("start_delay_ms") or {}).items())
    return (f"> **Test-only run: faults were injected on purpose ({delays or faults}).** Its figures are "
            "slower than the backends really are; do not quote them.")


def caveats(data: ReportData) -> list[str]:
    out: list[str] = []
    summary = data.summary
    if summary["status"] != "complete":
        out.append(f"The run's status is `{summary['status']}`, not `complete` (see the top of this report).")
    for name, reason in data.unavailable.items():
        out.append(f"**{name}** was not measured: {reason}.")
    if summary.get("profile") == "smoke":
        out.append("This is the **smoke** profile: a few samples of everything, to test the harness. Its figures "
                   "are not for comparison; use `--profile quick` or `full`.")
    out += _spread(data)
    out += _overhead(data)
    out += _memory(data)
    out += _machine(data)
    return out


def _by_figure(found: dict[str, list[str]]) -> str:
    """'warm call: isolate 12%, wasm 30%; transport: ...' (grouped by figure, in TIMINGS order)."""
    return "; ".join(f"{label}: {', '.join(items)}" for label, items in found.items() if items)


def _spread(data: ReportData) -> list[str]:
    wide: dict[str, list[str]] = {label: [] for _, label in TIMINGS}
    flagged: dict[str, list[str]] = {label: [] for _, label in TIMINGS}
    no_ci: dict[str, list[str]] = {label: [] for _, label in TIMINGS}
    for name in data.measured:
        entry = data.entry(name)
        for key, label in TIMINGS:
            metric = entry.get(key)
            if not metric:
                continue
            cv = metric.get("cv")
            if cv is not None and cv > HIGH_CV:
                wide[label].append(f"{name} {fmt.percent(cv)}")
            if metric.get("outliers"):
                flagged[label].append(f"{name} {metric['outliers']}/{metric['n']}")
            if not metric.get("ci95"):
                no_ci[label].append(f"{name} (n={metric['n']})")
    out = []
    if any(wide.values()):
        out.append(f"Wide spread (coefficient of variation above {fmt.percent(HIGH_CV)}): {_by_figure(wide)}. "
                   "Read the median and its interval, not the mean.")
    if any(flagged.values()):
        out.append(f"Outliers (modified Z-score on the MAD, |z| > {OUTLIER_Z}; outliers/samples): "
                   f"{_by_figure(flagged)}. They are kept in every figure; the medians and their intervals are "
                   "robust to them.")
    if any(no_ci.values()):
        out.append(f"Too few samples for a 95% interval of the median: {_by_figure(no_ci)}.")
    return out


def _overhead(data: ReportData) -> list[str]:
    out = []
    dominated = []
    for name in data.measured:
        entry = data.entry(name)
        warm, engine = entry.get("warm_call_us"), entry.get("engine_call_us")
        if warm and engine and warm["median"] > 0:
            share = entry["binding_overhead_us"] / warm["median"]
            if share > DOMINANT_OVERHEAD:
                dominated.append(f"{name} ({fmt.number(engine['median'])} of {fmt.number(warm['median'])} µs, "
                                 f"{fmt.percent(engine['median'] / warm['median'])} in the handler)")
    if dominated:
        out.append("Binding overhead dominates the warm call: the handler's own time is a sliver of it on "
                   f"{'; '.join(dominated)}. The warm-call figures measure each backend's channel (transport, "
                   "JSON, the runtime wrapper), not the handler.")
    out += _faster_than_isolate(data)
    out += _coarse_clocks(data)
    return out


def _faster_than_isolate(data: ReportData) -> list[str]:
    """Backends whose warm call is significantly faster than the isolate's."""
    reference = data.entry(REFERENCE_BACKEND).get("warm_call_us")
    ratios = data.summary["ratios"].get("warm_call", {})
    faster = []
    for name in data.measured:
        ratio = ratios.get(f"{name}/{REFERENCE_BACKEND}")
        if reference and ratio and ratio.get("ci95") and ratio["ci95"][1] < 1:
            faster.append(f"{name} {fmt.number(data.entry(name)['warm_call_us']['median'])} µs (ratio "
                          f"{fmt.ratio(ratio['value'])}, 95% CI {fmt.interval(ratio['ci95'], fmt.ratio)})")
    if not faster:
        return []
    transport = data.entry(REFERENCE_BACKEND).get("transport_us")
    channel = data.results.record.get("backends", {}).get(REFERENCE_BACKEND, {}).get("transport")
    why = (f" The isolate's transport round trip alone takes {fmt.number(transport['median'])} µs"
           f"{f' ({channel})' if channel else ''}.") if transport else ""
    return [f"The isolate is not the fastest everywhere: these warm calls are faster than its "
            f"{fmt.number(reference['median'])} µs: {'; '.join(faster)}.{why}"]


def _coarse_clocks(data: ReportData) -> list[str]:
    by_clock: dict[str, list[str]] = {}
    for name in data.measured:
        bench = data.results.find(name, "warm_call")
        clock = bench.extra.get("engine_clock") if bench else None
        if clock in COARSE_CLOCKS:
            by_clock.setdefault(clock, []).append(name)
    loop_ms = (data.results.record.get("profile") or {}).get("engine_min_ms")
    out = []
    for clock, names in by_clock.items():
        bound = (f": each timing loop lasts at least {fmt.number(loop_ms)} ms, so a reading can be off by up to "
                 f"{fmt.percent(COARSE_CLOCKS[clock] / loop_ms)}") if loop_ms else ""
        out.append(f"The in-engine time of {', '.join(names)} uses `{clock}`, which counts whole "
                   f"milliseconds{bound}.")
    return out


def _memory(data: ReportData) -> list[str]:
    out = []
    for name in data.measured:
        entry = data.entry(name)
        at_n = entry.get("memory_per_instance_mb", {}).get("pss")
        slope = entry.get("memory_slope_mb", {}).get("pss")
        if at_n and slope and abs(slope - at_n) / at_n > SLOPE_GAP:
            out.append(f"{name}: PSS per instance at N = {entry.get('memory_at_n')} ({fmt.number(at_n)} MiB) and the "
                       f"growth per added instance ({fmt.number(slope)} MiB) differ by "
                       f"{fmt.percent(abs(slope - at_n) / at_n)}: the first instances pay for pages later ones share, "
                       "so the per-instance figure still depends on N.")
    return out


def _machine(data: ReportData) -> list[str]:
    out = []
    machine = data.results.machine
    cpus = machine.get("cpu_count")
    loads = [("start", machine.get("load_average")), ("end", data.results.record.get("load_average_at_end"))]
    busy = [(when, load[0]) for when, load in loads if load and cpus and load[0] / cpus > BUSY_LOAD_PER_CPU]
    if busy:
        listed = ", ".join(f"{fmt.number(value)} at the {when}" for when, value in busy)
        out.append(f"The machine was busy: 1-minute load average {listed}, on {cpus} CPUs. Other work competes "
                   "with the harness for the CPUs and inflates the tails.")
    if cpus and cpus <= 2:
        out.append(f"Only {cpus} CPUs: the harness, its threads, the instances and (for containers) dockerd and "
                   "containerd share them, so every cross-thread or cross-process hop can wait for a CPU.")
    git = machine.get("git") or {}
    if git.get("dirty"):
        out.append(f"The harness had uncommitted changes when it ran (commit `{(git.get('commit') or '?')[:10]}` "
                   "plus local edits).")
    return out
