"""The flat summary of a results file: a stable JSON shape other tools and CI
read, and the same as a markdown table. It only reads results."""

from __future__ import annotations

from harness.analysis.concurrency import summarize_concurrency
from harness.analysis.density import summarize_density
from harness.results.store import Results
from harness.analysis.stats import median_ratio, summarize

SUMMARY_SCHEMA = "isobench-summary/1"
MIB = float(1 << 20)
UNITS = {
    "cold_start_ms": "milliseconds",
    "first_isolate_ms": "milliseconds",
    "warm_call_us": "microseconds",
    "engine_call_us": "microseconds",
    "transport_us": "microseconds",
    "binding_overhead_us": "microseconds",
    "memory_per_instance_mb": "MiB (2^20 bytes)",
    "density.instances_per_gib": "instances per GiB (2^30 bytes) of density.memory_kind",
    "density.marginal_mb": "MiB (2^20 bytes) per added instance",
    "concurrency.throughput_rps": "completed calls per second, all callers together",
    "concurrency.p99_us": "microseconds",
}
REFERENCE_BACKEND = "isolate"
_HEADLINE_KEYS = ("median", "ci95", "p90", "p99", "n")


def _timing(samples: list[float], scale: float) -> dict:
    summary = summarize(samples).scaled(scale)
    out = {key: getattr(summary, key) for key in _HEADLINE_KEYS}
    out["ci95"] = list(summary.ci95) if summary.ci95 else None
    out.update(mean=summary.mean, iqr=summary.iqr, cv=summary.cv, outliers=summary.outliers,
               min=summary.min, max=summary.max)
    return out


def backend_summary(results: Results, name: str) -> dict:
    status = results.record.get("backends", {}).get(name, {})
    entry: dict = {"available": bool(status.get("available")), "reason": status.get("reason", "")}
    cold = results.find(name, "cold_start")
    if cold and cold.samples:
        entry["cold_start_ms"] = _timing(cold.samples, 1e3)
        phases = cold.extra.get("phases_ms", {})
        entry["cold_start_phases_ms"] = {phase: summarize(values).median for phase, values in phases.items()}
        first = cold.extra.get("first_isolate")
        if first and first.get("total_ms"):
            entry["first_isolate_ms"] = _timing(first["total_ms"], 1.0)
            entry["first_isolate_phases_ms"] = {p: summarize(v).median for p, v in first["phases_ms"].items()}
            if first.get("uss_growth_bytes"):
                entry["first_isolate_uss_mb"] = summarize(first["uss_growth_bytes"]).median / MIB
        if cold.extra.get("backend_facts"):  # e.g. wasm's module compile, a warm pool's standing memory
            entry["backend_facts"] = cold.extra["backend_facts"]
    warm = results.find(name, "warm_call")
    if warm and warm.samples:
        entry["warm_call_us"] = _timing(warm.samples, 1e6)
        engine = warm.extra.get("engine_ns_per_call")
        if engine:
            entry["engine_call_us"] = _timing(engine, 1e-3)
            entry["binding_overhead_us"] = entry["warm_call_us"]["median"] - entry["engine_call_us"]["median"]
    transport = results.find(name, "transport")
    if transport and transport.samples:
        entry["transport_us"] = _timing(transport.samples, 1e6)
    memory = results.find(name, "memory")
    if memory and memory.extra.get("memory"):
        sweep = memory.extra["memory"]
        slopes = {kind: fit["bytes_per_instance"] / MIB for kind, fit in sweep.get("slope", {}).items()}
        at_n = {kind: value / MIB for kind, value in sweep["per_instance_bytes"].items()}
        entry["memory_per_instance_mb"] = at_n
        entry["memory_at_n"] = sweep.get("per_instance_at_n")
        entry["memory_method"] = f"growth over the baseline / N, with N = {sweep.get('per_instance_at_n')} alive at once"
        entry["memory_slope_mb"] = slopes
        entry["memory_kinds"] = sweep.get("scopes", {})
    density = results.find(name, "density")
    if density and density.extra.get("density"):
        entry["density"] = summarize_density(density.extra["density"])
    concurrency = results.find(name, "concurrency")
    if concurrency and concurrency.extra.get("concurrency"):
        entry["concurrency"] = summarize_concurrency(concurrency.extra)
    if entry["available"] and not any(key in entry for key in ("cold_start_ms", "warm_call_us", "memory_per_instance_mb",
                                                              "density", "concurrency")):
        entry["available"] = False
        entry["reason"] = entry["reason"] or "no measurement was recorded"
    return entry


def ratios(results: Results, reference: str = REFERENCE_BACKEND) -> dict:
    """Each backend against the reference: cold start (bootstrap CI) and memory."""
    out: dict = {}
    base_cold = results.find(reference, "cold_start")
    base_mem = results.find(reference, "memory")
    for name in results.backend_names():
        if name == reference:
            continue
        cold = results.find(name, "cold_start")
        if base_cold and cold and base_cold.samples and cold.samples:
            out.setdefault("cold_start", {})[f"{name}/{reference}"] = median_ratio(cold.samples, base_cold.samples).as_dict()
        warm, base_warm = results.find(name, "warm_call"), results.find(reference, "warm_call")
        if warm and base_warm and warm.samples and base_warm.samples:
            out.setdefault("warm_call", {})[f"{name}/{reference}"] = median_ratio(warm.samples, base_warm.samples).as_dict()
        memory = results.find(name, "memory")
        if memory and base_mem and memory.extra.get("memory") and base_mem.extra.get("memory"):
            mine = memory.extra["memory"]["per_instance_bytes"]
            theirs = base_mem.extra["memory"]["per_instance_bytes"]
            for kind in ("pss", "uss"):
                if mine.get(kind) and theirs.get(kind):
                    out.setdefault(f"memory_{kind}", {})[f"{name}/{reference}"] = {"value": mine[kind] / theirs[kind], "ci95": None}
    return out


def summarize_results(results: Results) -> dict:
    machine = results.machine
    record = results.record
    backends = {name: backend_summary(results, name) for name in results.backend_names()}
    return {
        "schema": SUMMARY_SCHEMA,
        "status": results.status,
        "profile": record.get("profile", {}).get("name"),
        "worker": record.get("worker", {}),
        "backends": backends,
        "ratios": ratios(results),
        "units": UNITS,
        "metadata": {
            "timer": machine.get("timer", {}),
            "transport_us": {name: b["transport_us"]["median"] for name, b in backends.items() if "transport_us" in b},
            "cpu_model": machine.get("cpu_model"),
            "cpu_count": machine.get("cpu_count"),
            "kernel": machine.get("kernel"),
            "python": machine.get("python"),
            "load_average": machine.get("load_average"),
            "pinned_cpus": record.get("pinned_cpus"),
            "git_commit": (machine.get("git") or {}).get("commit"),
            "started": record.get("started"),
            "versions": {name: s.get("versions", {}) for name, s in record.get("backends", {}).items()},
        },
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _with_ci(metric: dict | None, digits: int = 1) -> str:
    if not metric:
        return "–"
    ci = metric.get("ci95")
    interval = f" [{_fmt(ci[0], digits)}–{_fmt(ci[1], digits)}]" if ci else ""
    return f"{_fmt(metric['median'], digits)}{interval}"


def to_markdown(summary: dict) -> str:
    lines = [
        "| backend | cold start ms, median [95% CI] | p99 | n | warm call µs, median [95% CI] | p99 "
        "| in-engine µs | transport µs | memory/instance MiB (USS / PSS) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in summary["backends"].items():
        if not entry["available"]:
            lines.append(f"| {name} | unavailable: {entry['reason']} | | | | | | | |")
            continue
        cold, warm = entry.get("cold_start_ms"), entry.get("warm_call_us")
        memory = entry.get("memory_per_instance_mb", {})
        mem = f"{_fmt(memory.get('uss'), 2)} / {_fmt(memory.get('pss'), 2)}" if memory else "–"
        lines.append(
            f"| {name} | {_with_ci(cold)} | {_fmt(cold and cold['p99'])} | {cold['n'] if cold else '–'} "
            f"| {_with_ci(warm)} | {_fmt(warm and warm['p99'])} "
            f"| {_fmt(entry.get('engine_call_us', {}).get('median'), 3)} "
            f"| {_fmt(entry.get('transport_us', {}).get('median'))} | {mem} |"
        )
    first = summary["backends"].get("isolate", {}).get("first_isolate_ms")
    notes = []
    if first:
        notes.append(f"First isolate in a fresh process (V8 platform start-up included): "
                     f"{_with_ci(first)} ms, n={first['n']}.")
    for name, ratio in summary["ratios"].get("cold_start", {}).items():
        ci = ratio["ci95"]
        notes.append(f"Cold start {name}: {ratio['value']:.1f}x" + (f" (95% CI {ci[0]:.1f}–{ci[1]:.1f})" if ci else ""))
    for name, ratio in summary["ratios"].get("memory_pss", {}).items():
        notes.append(f"Memory per instance (PSS) {name}: {ratio['value']:.1f}x")
    timer = summary["metadata"].get("timer", {})
    if timer:
        notes.append(f"Timer: {timer.get('timer')} read overhead {timer.get('read_overhead_median_ns')} ns "
                     f"(resolution {timer.get('resolution_ns')} ns).")
    if summary["status"] != "complete":
        notes.insert(0, f"**Run status: {summary['status']}** — some figures may be missing.")
    return "\n".join(lines + [""] + [f"- {note}" for note in notes] + _density_lines(summary)
                     + _concurrency_lines(summary)) + "\n"


def _density_lines(summary: dict) -> list[str]:
    rows = [(name, entry["density"]) for name, entry in summary["backends"].items() if entry.get("density")]
    if not rows:
        return []
    lines = ["", "| backend | instances per GiB | MiB per added instance | memory counted | largest N | stopped because |",
             "|---|---|---|---|---|---|"]
    for name, density in rows:
        lines.append(f"| {name} | {_fmt(density['instances_per_gib'])} | {_fmt(density['marginal_mb'], 2)} "
                     f"| {density['memory_kind'] or '–'} | {density['max_n_reached']} | {density['stopped_because']} |")
    return lines


def _concurrency_lines(summary: dict) -> list[str]:
    rows = [(name, entry["concurrency"]) for name, entry in summary["backends"].items() if entry.get("concurrency")]
    if not rows:
        return []
    levels = sorted({int(key) for _, entry in rows for key in entry if key.isdigit()})
    header = " | ".join(f"{k} callers: calls/s, p99 µs" for k in levels)
    lines = ["", f"| backend | mode | {header} |", "|---|---|" + "---|" * len(levels)]
    notes = set()
    for name, entry in rows:
        modes = [(entry["mode"], entry)] + [(mode, entry[mode]) for mode in ("shared",) if isinstance(entry.get(mode), dict)]
        for mode, figures in modes:
            cells = []
            for k in levels:
                level = figures.get(str(k))
                cells.append(f"{_fmt(level['throughput_rps'])}, {_fmt(level['p99_us'])}" if level and level["calls"] else "–")
            lines.append(f"| {name} | {mode} | {' | '.join(cells)} |")
            if figures.get("question"):
                notes.add(f"{mode}: {figures['question']}")
        if entry.get("note"):
            notes.add(entry["note"])
    return lines + [""] + [f"- Concurrency: {note}." for note in sorted(notes)]
