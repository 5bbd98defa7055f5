"""Compare two results files: did anything get significantly worse?

Pure: `compare_results(baseline, new)` returns a JSON-able dict; it reads the
results only. Rules:

- Timings (cold start, first isolate, warm call, transport): a regression
  needs BOTH the effect (new median / old median beyond 1 + threshold) AND
  significance (two-sided Mann-Whitney U on the raw samples, p < alpha), as
  asv does. The ratio's 95% interval is a percentile bootstrap of the two
  medians (fixed seeds: same samples, same interval).
- Long series (warm calls: thousands of back-to-back calls) are not
  independent samples: load drifts during a run. They are cut into 20
  contiguous blocks and the test and interval use the block medians (batch
  medians, as in simulation output analysis), so that drift within a run is
  not mistaken for a significant difference. The medians shown are of all samples.
- Memory per instance: one sweep per run gives one figure, not a sample, and
  it varies far less than a timing; it is compared by the threshold only.
- Machine-independent ratios (each backend over the isolate, measured in the
  same run): the change of the ratio between runs, with a bootstrap over both
  runs' raw samples for its interval and p-value. A ratio X/isolate rises when
  X gets slower relative to the isolate; when every backend's ratio to the
  isolate falls significantly, the isolate itself got slower (or every other
  backend faster), which --ratios-only flags on an `isolate (vs all others)` row.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from scipy import stats as scipy_stats

from harness.analysis import figures
from harness.analysis.bootstrap import RESAMPLES, batch_medians, bootstrap_medians, percentile_interval, two_sided_p
from harness.results.store import Results

COMPARE_SCHEMA = "isobench-compare/1"
REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "no significant change"
MEMORY_NOTE = ("Memory per instance is compared by the threshold only: each run has one sweep (one figure, "
               "not a sample) and memory varies far less between runs than timings do.")


class IncompatibleResults(ValueError):
    """The two runs cannot be compared (one line)."""


# ---------------------------------------------------------------- metadata

def _versions(results: Results, backend: str) -> dict:
    return (results.record.get("backends", {}).get(backend) or {}).get("versions") or {}


def machine_fields(results: Results) -> dict:
    """What must match for absolute figures to be comparable."""
    machine, record = results.machine, results.record
    fields = {
        "cpu model": machine.get("cpu_model"),
        "cores": machine.get("cpu_count"),
        "memory total": machine.get("memory_total_bytes"),
        "kernel": machine.get("kernel"),
        "python": machine.get("python"),
        "hostname": machine.get("hostname"),
        "harness version": record.get("harness_version"),
        "profile": (record.get("profile") or {}).get("name"),
        "pinning": record.get("pinned_cpus"),
        "inherited env": (record.get("child_environment") or {}).get("inherited"),
        "container base image": record.get("container_base_image"),
    }
    for label, backend, key in (("v8 (isolate)", "isolate", "v8"), ("mini-racer", "isolate", "mini-racer"),
                                ("node", "subprocess", "node"), ("v8 (node)", "subprocess", "v8"),
                                ("docker engine", "container", "docker_engine"), ("runtime", "container", "runtime"),
                                ("cgroup version", "container", "cgroup_version"),
                                ("container image", "container", "image")):
        value = _versions(results, backend).get(key)
        if value is not None:
            fields[label] = value
    return fields


def machine_differences(baseline: Results, new: Results) -> dict:
    """{field: {"baseline": a, "new": b}} for every field known in both runs that differs."""
    old, cur = machine_fields(baseline), machine_fields(new)
    return {name: {"baseline": old[name], "new": cur[name]}
            for name in old if name in cur and old[name] is not None and cur[name] is not None
            and old[name] != cur[name]}


def describe_run(results: Results) -> dict:
    return {
        "path": str(results.path) if results.path else None,
        "commit": figures.commit_of(results),
        "started": figures.started_at(results),
        "profile": (results.record.get("profile") or {}).get("name"),
        "status": results.status,
        "injected": figures.injected(results),
        "load_average_at_start": results.record.get("load_average_at_start"),
    }


def _check_compatible(baseline: Results, new: Results) -> None:
    old_sha = (baseline.record.get("worker") or {}).get("sha256")
    new_sha = (new.record.get("worker") or {}).get("sha256")
    if old_sha and new_sha and old_sha != new_sha:
        raise IncompatibleResults(f"different workers: baseline ran sha256 {old_sha[:12]}…, new ran {new_sha[:12]}…")


# ---------------------------------------------------------------- verdicts

def verdict(ratio: float, p_value: float | None, threshold: float, alpha: float) -> str:
    """Effect beyond the threshold AND (when there is a test) p < alpha."""
    significant = p_value is None or p_value < alpha
    if ratio > 1 + threshold and significant:
        return REGRESSION
    if ratio < 1 / (1 + threshold) and significant:
        return IMPROVEMENT
    return UNCHANGED


def min_mann_whitney_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value the exact test can give for these sizes."""
    return min(1.0, 2 / math.comb(n1 + n2, n1))


class _Boot:
    """Bootstrap medians per sample set, computed once per comparison (keyed by
    content: the replicates depend on the samples only)."""

    def __init__(self, resamples: int = RESAMPLES):
        self.resamples = resamples
        self._cache: dict[bytes, np.ndarray] = {}

    def __call__(self, samples: list[float]) -> np.ndarray:
        key = hashlib.sha256(np.asarray(samples, dtype=float).tobytes()).digest()
        if key not in self._cache:
            self._cache[key] = bootstrap_medians(samples, self.resamples)
        return self._cache[key]


def _interval(replicates: np.ndarray) -> list[float]:
    return list(percentile_interval(replicates))


def timing_row(backend: str, metric: str, old: list[float], new: list[float], threshold: float, alpha: float,
               boot: _Boot | None = None) -> dict:
    boot = boot or _Boot()
    old_median, new_median = float(np.median(old)), float(np.median(new))
    ratio = new_median / old_median
    old_t, new_t = batch_medians(old), batch_medians(new)
    p_value = float(scipy_stats.mannwhitneyu(new_t, old_t, alternative="two-sided").pvalue)
    blocked = len(old_t) < len(old) or len(new_t) < len(new)
    row = {
        "kind": "timing", "backend": backend, "metric": metric, "unit": figures.TIMINGS[metric].unit,
        "old_median": old_median, "new_median": new_median, "ratio": ratio,
        "ratio_ci95": _interval(boot(new_t) / boot(old_t)), "p_value": p_value,
        "test": f"Mann-Whitney U (two-sided) on the {'block medians' if blocked else 'raw samples'}; "
                "ratio CI: bootstrap of the medians",
        "n_old": len(old), "n_new": len(new), "verdict": verdict(ratio, p_value, threshold, alpha),
    }
    if min_mann_whitney_p(len(old_t), len(new_t)) >= alpha:
        row["note"] = f"too few samples (n={len(old_t)}, {len(new_t)}) for p < {alpha}: cannot be significant"
    return row


def memory_row(backend: str, kind: str, old: float, new: float, threshold: float, kind_label: str = "memory") -> dict:
    ratio = new / old if old else float("inf")
    return {
        "kind": kind_label, "backend": backend, "metric": f"memory_{kind}", "unit": "MiB" if kind_label == "memory" else "x",
        "old_median": old, "new_median": new, "ratio": ratio, "ratio_ci95": None, "p_value": None,
        "test": "threshold only (one memory sweep per run)", "n_old": 1, "n_new": 1,
        "verdict": verdict(ratio, None, threshold, 0.0),
    }


def ratio_row(backend: str, metric: str, old: tuple[list, list], new: tuple[list, list], threshold: float,
              alpha: float, boot: _Boot) -> tuple[dict, np.ndarray]:
    """(X over reference in the new run) / (X over reference in the baseline)."""
    (old_x, old_ref), (new_x, new_ref) = old, new
    old_ratio = float(np.median(old_x) / np.median(old_ref))
    new_ratio = float(np.median(new_x) / np.median(new_ref))
    replicates = ((boot(batch_medians(new_x)) / boot(batch_medians(new_ref)))
                  / (boot(batch_medians(old_x)) / boot(batch_medians(old_ref))))
    change = new_ratio / old_ratio
    p_value = two_sided_p(replicates)
    row = {
        "kind": "ratio", "backend": f"{backend}/{figures.REFERENCE}", "metric": metric, "unit": "x",
        "old_median": old_ratio, "new_median": new_ratio, "ratio": change, "ratio_ci95": _interval(replicates),
        "p_value": p_value, "test": "bootstrap of the ratio of ratios over both runs' raw samples",
        "n_old": min(len(old_x), len(old_ref)), "n_new": min(len(new_x), len(new_ref)),
        "verdict": verdict(change, p_value, threshold, alpha),
    }
    if row["verdict"] == IMPROVEMENT:
        row["note"] = f"{backend} faster relative to {figures.REFERENCE}, or {figures.REFERENCE} slower"
    return row, replicates


def reference_row(metric: str, rows: list[dict], replicates: list[np.ndarray], threshold: float,
                  alpha: float) -> dict | None:
    """When every ratio over the reference moved significantly the same way,
    the reference itself moved: its change relative to all others (geometric mean)."""
    if not rows or not all(r["p_value"] < alpha for r in rows):
        return None
    falling = all(r["ratio"] < 1 for r in rows)
    if not falling and not all(r["ratio"] > 1 for r in rows):
        return None
    change = float(np.exp(np.mean([-math.log(r["ratio"]) for r in rows])))
    reps = np.exp(np.mean([-np.log(rep) for rep in replicates], axis=0))
    p_value = two_sided_p(reps)
    return {
        "kind": "ratio", "backend": f"{figures.REFERENCE} (vs all others)", "metric": metric, "unit": "x",
        "old_median": 1.0, "new_median": change, "ratio": change, "ratio_ci95": _interval(reps), "p_value": p_value,
        "test": "geometric mean of the inverse ratio changes (bootstrap)",
        "n_old": min(r["n_old"] for r in rows), "n_new": min(r["n_new"] for r in rows),
        "verdict": verdict(change, p_value, threshold, alpha),
        "note": f"every backend's {metric} ratio to {figures.REFERENCE} moved the same way: "
                f"{figures.REFERENCE} {'slower' if falling else 'faster'} (or all others {'faster' if falling else 'slower'})",
    }


# ---------------------------------------------------------------- rows

def _absolute_rows(baseline: Results, new: Results, threshold: float, alpha: float, boot: _Boot) -> list[dict]:
    rows = []
    for backend in figures.measured_backends(baseline):
        if backend not in figures.measured_backends(new):
            continue
        for metric in figures.TIMINGS:
            old, cur = figures.timing_samples(baseline, backend, metric), figures.timing_samples(new, backend, metric)
            if old and cur:
                rows.append(timing_row(backend, metric, old, cur, threshold, alpha, boot))
        old_mem, new_mem = figures.memory_mib(baseline, backend), figures.memory_mib(new, backend)
        for kind in figures.MEMORY_KINDS:
            if kind in old_mem and kind in new_mem:
                rows.append(memory_row(backend, kind, old_mem[kind], new_mem[kind], threshold))
    return rows


def _ratio_rows(baseline: Results, new: Results, threshold: float, alpha: float, boot: _Boot,
                with_reference: bool) -> list[dict]:
    rows: list[dict] = []
    ref = figures.REFERENCE
    shared = [b for b in figures.ratio_backends(baseline) if b in figures.ratio_backends(new)]
    for metric in figures.RATIO_TIMINGS:
        metric_rows, metric_reps = [], []
        old_ref, new_ref = figures.timing_samples(baseline, ref, metric), figures.timing_samples(new, ref, metric)
        for backend in shared:
            old_x, new_x = figures.timing_samples(baseline, backend, metric), figures.timing_samples(new, backend, metric)
            if old_ref and new_ref and old_x and new_x:
                row, reps = ratio_row(backend, metric, (old_x, old_ref), (new_x, new_ref), threshold, alpha, boot)
                metric_rows.append(row)
                metric_reps.append(reps)
        rows.extend(metric_rows)
        extra = reference_row(metric, metric_rows, metric_reps, threshold, alpha) if with_reference else None
        if extra:
            rows.append(extra)
    old_ref_mem, new_ref_mem = figures.memory_mib(baseline, ref), figures.memory_mib(new, ref)
    for backend in shared:
        old_mem, new_mem = figures.memory_mib(baseline, backend), figures.memory_mib(new, backend)
        for kind in figures.RATIO_MEMORY_KINDS:
            if all(kind in m and m[kind] for m in (old_mem, new_mem, old_ref_mem, new_ref_mem)):
                row = memory_row(f"{backend}/{ref}", kind, old_mem[kind] / old_ref_mem[kind],
                                 new_mem[kind] / new_ref_mem[kind], threshold, kind_label="memory ratio")
                rows.append(row)
    return rows


BUSY_LOAD_PER_CPU = 0.5


def busy_machine(results: Results) -> str | None:
    """A description if the 1-minute load average when the run started was
    above BUSY_LOAD_PER_CPU per CPU: other work was competing with it. (The
    load at the end includes the run's own concurrency suite, so it says nothing;
    runs that did not record the start say nothing either.)"""
    cpus = results.machine.get("cpu_count") or 1
    load = results.record.get("load_average_at_start")
    if isinstance(load, list) and load and load[0] > BUSY_LOAD_PER_CPU * cpus:
        return f"1-minute load average {load[0]:.2f} on {cpus} CPU(s) when the run started"
    return None


def _warnings(baseline: Results, new: Results, differences: dict, rows: list[dict], alpha: float) -> list[str]:
    out = []
    for label, results in (("baseline", baseline), ("new", new)):
        faults = figures.injected(results)
        if faults:
            out.append(f"INJECTED FAULTS in the {label} run (test-only, not a real measurement): {faults}")
        if results.status != "complete":
            out.append(f"the {label} run is {results.status}: some figures may be missing")
        busy = busy_machine(results)
        if busy:
            out.append(f"the {label} run was measured on a busy machine ({busy}): its timings are unreliable")
    if differences:
        listed = "; ".join(f"{name}: {d['baseline']} -> {d['new']}" for name, d in differences.items())
        out.append(f"the runs differ in machine or versions ({listed}); absolute figures may not be comparable, "
                   "use --ratios-only across machines")
    old_b, new_b = set(figures.measured_backends(baseline)), set(figures.measured_backends(new))
    for name in sorted(old_b - new_b):
        out.append(f"backend {name} was measured in the baseline only; not compared")
    for name in sorted(new_b - old_b):
        out.append(f"backend {name} was measured in the new run only; not compared")
    weak = [f"{r['backend']} {r['metric']}" for r in rows if r.get("note", "").startswith("too few samples")]
    if weak:
        out.append(f"too few samples to reach p < {alpha} for: {', '.join(weak)}; these cannot flag a regression")
    return out


def _selected(row: dict, metrics: tuple[str, ...] | None) -> bool:
    return metrics is None or any(row["metric"] == m or row["metric"].startswith(m + "_") for m in metrics)


def compare_results(baseline: Results, new: Results, threshold: float = 0.10, alpha: float = 0.01,
                    ratios_only: bool = False, metrics: tuple[str, ...] | None = None) -> dict:
    """Every comparable figure of the two runs with its verdict (see module doc).
    `metrics` keeps only those metrics (a name, or a prefix such as "memory")."""
    if threshold <= 0 or not 0 < alpha < 1:
        raise ValueError("threshold must be > 0 and alpha in (0, 1)")
    _check_compatible(baseline, new)
    boot = _Boot()
    rows = [] if ratios_only else _absolute_rows(baseline, new, threshold, alpha, boot)
    rows += _ratio_rows(baseline, new, threshold, alpha, boot, with_reference=ratios_only)
    rows = [row for row in rows if _selected(row, metrics)]
    if not rows:
        raise IncompatibleResults("the two runs have no figure in common to compare"
                                  + (f" among metrics {', '.join(metrics)}" if metrics else ""))
    differences = machine_differences(baseline, new)
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in (REGRESSION, IMPROVEMENT, UNCHANGED)}
    return {
        "schema": COMPARE_SCHEMA,
        "threshold": threshold,
        "alpha": alpha,
        "ratios_only": ratios_only,
        "metrics": list(metrics) if metrics else None,
        "baseline": describe_run(baseline),
        "new": describe_run(new),
        "rows": rows,
        "regressions": counts[REGRESSION],
        "improvements": counts[IMPROVEMENT],
        "verdict": REGRESSION if counts[REGRESSION] else UNCHANGED,
        "machine_differences": differences,
        "injected": {"baseline": figures.injected(baseline), "new": figures.injected(new)},
        "warnings": _warnings(baseline, new, differences, rows, alpha),
        "notes": [
            MEMORY_NOTE,
            f"A regression needs the effect beyond {threshold:.0%} AND p < {alpha} (alpha is per row).",
            "Ratios (X/isolate) are measured within one run, so they carry across machines; absolute figures do not.",
        ],
    }


# ---------------------------------------------------------------- markdown

def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1e}" if value < 0.001 else f"{value:.3f}"


def to_markdown(comparison: dict) -> str:
    lines = []
    for warning in comparison["warnings"]:
        lines.append(f"> **WARNING:** {warning}")
    if lines:
        lines.append("")
    lines += [
        "| backend | metric | unit | old median | new median | new/old [95% CI] | p | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison["rows"]:
        ci = row["ratio_ci95"]
        change = f"{row['ratio']:.3f}" + (f" [{ci[0]:.3f}–{ci[1]:.3f}]" if ci else "")
        mark = {REGRESSION: "**REGRESSION**", IMPROVEMENT: "improvement"}.get(row["verdict"], row["verdict"])
        if row.get("note"):
            mark += f" ({row['note']})"
        lines.append(f"| {row['backend']} | {row['metric']} | {row['unit']} | {_num(row['old_median'])} "
                     f"| {_num(row['new_median'])} | {change} | {_p(row['p_value'])} | {mark} |")
    lines.append("")
    lines += [f"- {note}" for note in comparison["notes"]]
    old, new = comparison["baseline"], comparison["new"]
    lines.append(f"- Baseline: {old['path']} (commit {(old['commit'] or '?')[:10]}, {old['started']}); "
                 f"new: {new['path']} (commit {(new['commit'] or '?')[:10]}, {new['started']}).")
    lines.append(f"\n**{comparison['regressions']} regression(s), {comparison['improvements']} improvement(s)** "
                 f"(threshold {comparison['threshold']:.0%}, alpha {comparison['alpha']}"
                 f"{', machine-independent ratios only' if comparison['ratios_only'] else ''}).")
    return "\n".join(lines) + "\n"
