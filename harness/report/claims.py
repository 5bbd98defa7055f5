"""Published figures beside what was measured here, like for like: each claim
is paired with the measurement of the same quantity (or marked as having
none), both sides say what they are and where they come from, and a verdict
says whether they agree. Every source is listed in docs/sources.md.

Verdict: the measured value over the claimed one, r. "agrees" when r is
within a factor AGREE (1.25) of 1, saying by how much; "differs" otherwise,
saying by what factor and in which direction. A bound ("at most 125 ms")
agrees when the measurement is within it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness.report import fmt
from harness.report.data import ReportData

AGREE = 1.25
CLAIM, MEASUREMENT = "published claim", "published measurement"
CF_2018 = "Cloudflare, “Cloud Computing without Containers”, 2018"
GVISOR = "gVisor performance guide (startup.csv, density.csv)"


@dataclass(frozen=True)
class Measured:
    value: float
    ci: tuple[float, float] | None
    what: str  # the measured quantity, in words


@dataclass(frozen=True)
class Claim:
    figure: str  # what the source says, in words
    value: float
    unit: str  # "ms", "MB", "MiB" or "x"
    kind: str  # CLAIM or MEASUREMENT (a figure derived from one says so in its conditions)
    source: str
    conditions: str
    measure: Callable[[ReportData], Measured | None] | None = None
    bound: bool = False  # the value is an upper bound ("at most")
    not_measured: str = ""  # why nothing here measures it

    def stated(self) -> str:
        unit = "×" if self.unit == "x" else f" {self.unit}"
        return f"{'≤ ' if self.bound else '≈ '}{fmt.number(self.value)}{unit}"


MB, MIB = 1e6, float(1 << 20)


def _in_unit(claim: Claim, measured_mib: float) -> float:
    """A memory measurement (MiB) in the claim's unit."""
    return measured_mib * MIB / MB if claim.unit == "MB" else measured_mib


def verdict(claim: Claim, measured: Measured | None) -> str:
    if measured is None:
        return f"not measured here{': ' + claim.not_measured if claim.not_measured else ''}"
    value = _in_unit(claim, measured.value) if claim.unit in ("MB", "MiB") else measured.value
    if claim.bound:
        return "agrees (within the bound)" if value <= claim.value else f"differs ({value / claim.value:.1f}× the bound)"
    ratio = value / claim.value
    if 1 / AGREE <= ratio <= AGREE:
        return f"agrees (within {abs(ratio - 1):.0%})"
    return f"differs ({ratio:.2g}× {'more' if ratio > 1 else 'less'})" if ratio > 1 else \
        f"differs ({1 / ratio:.2g}× less)"


# ---------------------------------------------------------------- the measured side

def _cold(role: str, what: str):
    def measure(data: ReportData) -> Measured | None:
        name = data.by_role(role)
        value = data.cold_start(name) if name else None
        return Measured(value.value, value.ci, f"{name}: {what}") if value else None
    return measure


def _ratio(role: str, key: str, what: str):
    """A backend over the reference, paired by trial (the summary's ratio)."""
    def measure(data: ReportData) -> Measured | None:
        name = data.by_role(role)
        found = data.ratio(key, name) if name else None
        return Measured(found.value, found.ci95,
                        f"{name} over {data.reference} {what}") if found else None
    return measure


def _between(numerator: str, denominator: str, getter: str, what: str):
    """A ratio of two backends' medians (their intervals are not combined: one per side)."""
    def measure(data: ReportData) -> Measured | None:
        top_name, bottom_name = data.by_role(numerator), data.by_role(denominator)
        if not top_name or not bottom_name:
            return None
        top, bottom = getattr(data, getter)(top_name), getattr(data, getter)(bottom_name)
        if not top or not bottom or not bottom.value:
            return None
        return Measured(top.value / bottom.value, None, f"{top_name} over {bottom_name} {what}")
    return measure


def _phase_ratio(numerator: str, denominator: str, phase: str, what: str):
    def measure(data: ReportData) -> Measured | None:
        top_name, bottom_name = data.by_role(numerator), data.by_role(denominator)
        if not top_name or not bottom_name:
            return None
        top, bottom = data.phase_ms(top_name, phase), data.phase_ms(bottom_name, phase)
        return Measured(top / bottom, None, f"{top_name} over {bottom_name} {what}") if top and bottom else None
    return measure


def _phase(role: str, phase: str, what: str):
    def measure(data: ReportData) -> Measured | None:
        name = data.by_role(role)
        value = data.phase_ms(name, phase) if name else None
        return Measured(value, None, f"{name}: {what}") if value else None
    return measure


def _isolate_memory(data: ReportData) -> Measured | None:
    name = data.by_role("v8-isolate")
    value = data.memory(name) if name else None
    return Measured(value.value, value.ci, f"{name}: growth of its host process's USS per isolate (growth / N "
                    f"at the largest N), MiB") \
        if value else None


def _node_process_rss(data: ReportData) -> Measured | None:
    """One whole node process: RSS with one instance alive, as a Lambda's memory is counted."""
    name = data.by_role("node-process")
    memory = data.result(name).memory if name else None
    sweeps = [s for s in (memory.sweeps if memory else ()) if s.steps and s.steps[0].n == 1
              and "rss" in s.steps[0].total_bytes]
    if not sweeps:
        return None
    import numpy as np

    value = float(np.median([s.steps[0].total_bytes["rss"] for s in sweeps])) / MIB
    return Measured(value, None, f"{name}: RSS of one whole node process (N = 1), MiB")


CLAIMS: tuple[Claim, ...] = (
    Claim("a V8 isolate starts in about 5 ms", 5, "ms", CLAIM, CF_2018, "“on my machine”; no method given",
          _cold("v8-isolate", "fresh isolate requested → first answer, in a running process, ms")),
    Claim("a node process starts about 100× slower than an isolate", 100, "x", CLAIM, CF_2018,
          "stated only as a factor of the isolate's 5 ms (so ≈ 500 ms, derived)",
          _ratio("node-process", "cold_start", "cold start, paired by trial")),
    Claim("an isolate that shares the runtime uses about 3 MB", 3, "MB", CLAIM, CF_2018, "no method given",
          _isolate_memory),
    Claim("a basic Node Lambda uses about 35 MB", 35, "MB", CLAIM, CF_2018, "a whole process; no method given",
          _node_process_rss),
    Claim("crun starts a container 2.0× faster than runc (17 vs 33 ms)", 3340 / 1690, "x", MEASUREMENT,
          "crun README", "100 sequential `/bin/true` containers, the runtime called directly",
          _phase_ratio("runc-direct", "crun-direct", "run", "`run` phase (the runtime's create and start), medians; "
                       "crun goes through a wrapper here")),
    Claim("node under gVisor starts as fast as under runc (2.44 vs 2.56 s)", 2441.9 / 2557.95, "x", MEASUREMENT,
          GVISOR, "GCE n1-standard-4, ptrace platform; a node container started until ready",
          _between("gvisor-container", "docker-container", "cold_start", "cold start, medians")),
    Claim("a node container takes 1.6× the memory under gVisor (124 vs 77 MB)", 124.08 / 76.71, "x", MEASUREMENT,
          GVISOR, "the drop in host free memory over 50 containers",
          _between("gvisor-container", "docker-container", "memory", "memory per instance (cgroup + shim), medians")),
    Claim("lean containers start 18× faster than Docker", 18, "x", MEASUREMENT, "SOCK (USENIX ATC 2018)",
          "SOCK's own lean containers; here the nearest thing is runc without Docker",
          _between("docker-container", "runc-direct", "cold_start", "cold start, medians")),
    Claim("a Wasm instance starts in under 50 µs", 0.05, "ms", CLAIM, "Fastly Lucet (InfoQ, 2019)",
          "an AOT-compiled module, instantiation only",
          _phase("wasm-instance", "instantiate", "`instantiate` phase (new Store and Instance of a compiled module), "
                 "median, ms"), bound=True),
    Claim("a Wasm instance is created in about 35 µs", 0.035, "ms", CLAIM, "Fastly Compute (fastly.com)",
          "Fastly's runtime creating an instance of an AOT-compiled module; no JS engine or worker start-up",
          _phase("wasm-preinitialised", "instantiate", "`instantiate` phase (new Store, empty WASI context and "
                 "InstancePre.instantiate of the Wizer snapshot, QuickJS and the worker already initialised; "
                 "timed in Python), median, ms")),
    Claim("Bun starts a hello world 4.8× sooner than node (5.2 vs 25.1 ms)", 25.1 / 5.2, "x", CLAIM,
          "Bun documentation", "`bun hello.js` against `node hello.js`, Linux: a process that prints and exits",
          _between("node-process", "bun-process", "cold_start", "cold start, medians (each process also loads the "
                   "runner and the worker and answers once)")),
    Claim("a micro-VM boots in at most 125 ms", 125, "ms", MEASUREMENT, "Firecracker SPECIFICATION.md",
          "InstanceStart API call → guest /sbin/init; i3.metal, 1 vCPU", None, bound=True,
          not_measured="no micro-VM backend: this machine's nested KVM does not boot a stock guest kernel"),
    Claim("a host creates up to 150 micro-VMs a second", 150, "/s", CLAIM, "Firecracker website and SPECIFICATION.md",
          "micro-VMs created per second on one host; the report's storm table gives instances per second here",
          None, bound=True, not_measured="no micro-VM backend (see the storms under At scale for this machine's "
                                         "start rates)"),
    Claim("5 micro-VMs a second per host core", 5, "/s", CLAIM, "Firecracker website and SPECIFICATION.md",
          "per core of the host", None, bound=True, not_measured="no micro-VM backend"),
    Claim("a cluster starts 2,500 sandboxes a second", 2500, "/s", MEASUREMENT, "Dirigent (SOSP 2024)",
          "a whole cluster's control plane, cold-start requests per second swept to saturation", None,
          not_measured="a cluster scheduler's rate, not one machine's"),
)


def rows(data: ReportData) -> list[dict]:
    out = []
    for claim in CLAIMS:
        measured = claim.measure(data) if claim.measure else None
        out.append({"claim": claim, "measured": measured, "verdict": verdict(claim, measured)})
    return out


def table(data: ReportData) -> list[str]:
    lines = ["| published | value | kind, source | measured here | value | verdict |",
             "|---|---:|---|---|---:|---|"]
    for row in rows(data):
        claim, measured = row["claim"], row["measured"]
        if measured is None:
            value = "–"
        else:
            shown = _in_unit(claim, measured.value) if claim.unit in ("MB", "MiB") else measured.value
            unit = "×" if claim.unit == "x" else f" {claim.unit}"
            value = f"{fmt.number(shown)}{unit}"
            if measured.ci:
                ci = tuple(_in_unit(claim, v) if claim.unit in ("MB", "MiB") else v for v in measured.ci)
                value += f" [{fmt.interval(ci)}]"
        what = measured.what if measured else (claim.not_measured or "–")
        lines.append(f"| {fmt.cell(claim.figure)} | {claim.stated()} | {claim.kind}: {fmt.cell(claim.source)}; "
                     f"{fmt.cell(claim.conditions)} | {fmt.cell(what)} | {value} | {row['verdict']} |")
    return lines
