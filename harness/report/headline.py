"""The report's first screen in words: one headline sentence and a "What this
means" block of at most eight lines, every number computed from the run (and
the containment record), none typed here. Each function returns its text and
the numbers in it, so a test can change the run and watch the text change."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.report import fmt
from harness.report.data import ReportData
from harness.suites.storm import HEADLINE_N

CI = "95% CI"
# The headline compares the reference with what these roles stand for, when measured.
HEADLINE_ROLES = ("docker-container", "node-process")
MAX_LINES = 9


@dataclass
class Text:
    text: str
    numbers: dict[str, float] = field(default_factory=dict)


def _ci(ci) -> str:
    return f" ({CI} {fmt.ratio(ci[0])}–{fmt.ratio(ci[1])})" if ci else ""


def compared_backends(data: ReportData) -> list[str]:
    """The backends the headline compares with: the roles it names if measured, else the first other family's."""
    found = [data.by_role(role) for role in HEADLINE_ROLES]
    found = [name for name in found if name and name != data.reference]
    if found:
        return found
    return [name for name in data.measured if name != data.reference][:1]


def headline(data: ReportData) -> Text:
    ref = data.reference
    if not ref or ref not in data.measured:
        return Text("No reference backend (a V8 isolate) was measured in this run, so there is no headline comparison.")
    numbers: dict[str, float] = {}
    starts, memories = [], []
    for name in compared_backends(data):
        ratio = data.ratio("cold_start", name)
        if ratio:
            numbers[f"{name} cold start ratio"] = ratio.value
            if ratio.value >= 1:
                starts.append(f"**{fmt.ratio(ratio.value)}x**{_ci(ratio.ci95)} sooner than {data.described(name)}")
            else:
                starts.append(f"**{fmt.ratio(1 / ratio.value)}x** later than {data.described(name)}")
        memory = data.memory_ratio(name)
        if memory:
            numbers[f"{name} memory ratio"] = memory.value
            memories.append((name, memory))
    cold = data.cold_start(ref)
    if not cold:
        return Text("This run measured no cold starts (its suites did not include them), so there is no headline "
                    "comparison; the sections below give what it measured.", numbers)
    if not starts:
        numbers["reference cold start ms"] = cold.value
        return Text(f"On this machine {data.described(ref)} answers its first call in **{fmt.number(cold.value)} ms** "
                    f"(median); no other backend ran to compare it with.", numbers)
    text = f"On this machine a fresh {data.described(ref).removeprefix('a ')} answers its first call " \
           f"{' and '.join(starts)}"
    if memories:
        parts = [f"{fmt.ratio(m.value)}x less than {data.described(n)}" if m.value >= 1
                 else f"{fmt.ratio(1 / m.value)}x more than {data.described(n)}" for n, m in memories]
        text += f", and costs {' and '.join(parts)} in memory per instance"
    return Text(text + ".", numbers)


def what_this_means(data: ReportData) -> Text:
    """At most nine lines on the trade-offs, where the reference loses included."""
    ref = data.reference
    if not ref or ref not in data.measured:
        return Text("")
    numbers: dict[str, float] = {}
    lines = [line for line in (_cold_line(data, numbers), _first_line(data, numbers), _faster_line(data, numbers),
                               _memory_line(data, numbers), _warm_line(data, numbers),
                               _containment_line(data, numbers), _density_line(data, numbers), _scale_line(data, numbers),
                               _spread_line(data, numbers)) if line]
    return Text("\n".join(f"- {line}" for line in lines[:MAX_LINES]), numbers)


def _cold_line(data: ReportData, numbers: dict) -> str | None:
    ref = data.reference
    cold = data.cold_start(ref)
    if not cold:
        return None
    parts = [f"{_capital(data.described(ref))} answers its first call in {fmt.number(cold.value)} ms "
             f"[{fmt.ci(cold)}]"]
    numbers["reference cold start ms"] = cold.value
    for name in compared_backends(data):
        value = data.cold_start(name)
        if value:
            numbers[f"{name} cold start ms"] = value.value
            parts.append(f"{data.described(name)} in {fmt.number(value.value)} ms")
    slowest = max(data.measured, key=lambda n: data.cold_start(n).value if data.cold_start(n) else 0)
    value = data.cold_start(slowest)
    if slowest not in compared_backends(data) and slowest != ref and value:
        numbers["slowest cold start ms"] = value.value
        parts.append(f"the slowest, {data.described(slowest)}, in {fmt.number(value.value)} ms")
    return "**Cold start.** " + "; ".join(parts) + "."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_line(data: ReportData, numbers: dict) -> str | None:
    first = data.first_instance(data.reference)
    if not first:
        return None
    numbers["first instance ms"] = first.value
    return (f"**The first one costs more.** The first isolate of a fresh process takes {fmt.number(first.value)} ms "
            f"(loading the engine and starting V8's platform): a host pays it once per process, not per worker.")


def _faster_line(data: ReportData, numbers: dict) -> str | None:
    ref = data.reference
    if not data.cold_start(ref):
        return None
    mine = data.cold_start(ref).value
    faster = [(n, data.cold_start(n).value) for n in data.measured
              if n != ref and data.cold_start(n) and data.cold_start(n).value < mine]
    if not faster:
        return "**Nothing starts faster** than the isolate here."
    for name, value in faster:
        numbers[f"{name} cold start ms"] = value
    listed = "; ".join(f"{data.described(n)} ({n}), {fmt.number(v)} ms" for n, v in faster)
    return f"**Where the isolate loses on start.** These answer their first call sooner than its {fmt.number(mine)} ms: {listed}."


def _memory_line(data: ReportData, numbers: dict) -> str | None:
    ref = data.reference
    mine = data.memory(ref)
    if not mine:
        return None
    numbers["reference memory MiB"] = mine.value
    parts = []
    for name in compared_backends(data):
        value = data.memory(name)
        if value:
            numbers[f"{name} memory MiB"] = value.value
            parts.append(f"{data.described(name)} {fmt.number(value.value)} MiB "
                         f"({data.memory_label(data.memory_kind(name))})")
    text = f"**Memory.** Each isolate adds {fmt.number(mine.value)} MiB to its host process"
    return text + (f"; {'; '.join(parts)}." if parts else ".")


def _warm_line(data: ReportData, numbers: dict) -> str | None:
    """Calls compared with the CPUs held awake, where the backend's own cost is
    what differs (with idle CPUs every call also pays to wake a CPU); the idle
    figure beside. Runs before the regimes have the idle figure only, and say so."""
    ref = data.reference
    awake = data.warm_call_awake(ref) is not None
    call = data.warm_call_awake if awake else data.warm_call
    mine = call(ref)
    if not mine:
        return None
    idle = data.warm_call(ref)
    regime = "with the CPUs held awake" if awake else "with idle CPUs (this run did not hold them awake)"
    beside = f" ({fmt.number(idle.value)} µs with idle CPUs)" if awake and idle else ""
    numbers["reference warm call us"] = mine.value
    faster = sorted(((n, call(n).value) for n in data.measured
                     if n != ref and call(n) and call(n).value < mine.value), key=lambda p: p[1])
    if not faster:
        return (f"**Warm calls.** Once started, the isolate also answers fastest {regime}: "
                f"{fmt.number(mine.value)} µs a call{beside}.")
    for name, value in faster:
        numbers[f"{name} warm call us"] = value
    listed = ", ".join(f"{n} {fmt.number(v)} µs" for n, v in faster[:4])
    if len(faster) > 4:
        listed += f", and {len(faster) - 4} more"
    others = "one other backend answers" if len(faster) == 1 else f"{len(faster)} others answer"
    return (f"**Where the isolate loses on calls.** {_capital(regime)}, a warm call to it takes "
            f"{fmt.number(mine.value)} µs{beside} (its binding hands each call to the isolate's own thread); "
            f"{others} sooner: {listed}.")


def _containment_line(data: ReportData, numbers: dict) -> str | None:
    scores = {n: data.containment_score(n) for n in data.names}
    scores = {n: s for n, s in scores.items() if s}
    ref = data.reference
    if ref not in scores:
        return None
    held, tried = scores[ref]
    numbers["reference contained"] = held
    fewest = min(s[0] / s[1] for s in scores.values())
    full = [n for n, s in scores.items() if s[0] == s[1]]
    text = f"**Containment.** The isolate contained {held} of {tried} hostile workers"
    if held / tried == fewest and len(scores) > 1:
        tied = [n for n, s in scores.items() if n != ref and s[0] / s[1] == fewest]
        text += (f", tied with {fmt.and_list(tied)} for the fewest of the backends tried" if tied
                 else ", the fewest of the backends tried")
    crash = data.containment.pair(ref, "crash")
    if crash and not crash.host.survived:
        text += "; an engine crash in the worker took its host process down"
    if full:
        text += f". {len(full)} of {len(scores)} backends contained all of them"
    return text + "."


def _density_line(data: ReportData, numbers: dict) -> str | None:
    parts = []
    for name in [data.reference, *compared_backends(data)]:
        density = data.density(name) if name in data.run.backends else None
        if density and density.instances_per_gib:
            numbers[f"{name} per GiB"] = density.instances_per_gib
            parts.append(f"{fmt.number(density.instances_per_gib)} × {name}")
    return f"**Density.** One GiB holds about {', '.join(parts)} (memory alone)." if len(parts) > 1 else None


def _scale_line(data: ReportData, numbers: dict) -> str | None:
    """The burst of HEADLINE_N (suites/storm.py): when the reference's last answer came, and the slowest other's;
    and how many requests a second one warm instance of each kept up with (open-loop load)."""
    bursts = {name: data.storm(name).burst(HEADLINE_N) for name in data.measured if data.storm(name)}
    bursts = {name: b for name, b in bursts.items() if b and b.last_answer_ms}
    sentences = []
    ref = data.reference
    if ref in bursts and len(bursts) > 1:
        slowest = max((n for n in bursts if n != ref), key=lambda n: bursts[n].last_answer_ms.value)
        mine, theirs = bursts[ref].last_answer_ms.value, bursts[slowest].last_answer_ms.value
        numbers[f"{ref} burst of {HEADLINE_N} last answer ms"] = mine
        numbers[f"{slowest} burst of {HEADLINE_N} last answer ms"] = theirs
        sentences.append(f"A burst of {HEADLINE_N} new instances: every {ref} instance had answered within "
                         f"{fmt.number(mine)} ms; the last {slowest} instance answered after "
                         f"{fmt.number(theirs / 1e3)} s.")
    kept = {name: data.load(name).pool(1) for name in data.measured if data.load(name) and data.load(name).pool(1)}
    kept = {name: pool.saturation_rps for name, pool in kept.items() if pool.saturation_rps}
    if ref in kept and len(kept) > 1:
        for name, rate in kept.items():
            numbers[f"{name} saturation req/s"] = rate
        others = "; ".join(f"{name} {fmt.number(rate)}" for name, rate in kept.items() if name != ref)
        sentences.append(f"One warm instance answered at most {fmt.number(kept[ref])} requests a second for {ref} "
                         f"under open-loop load ({others}).")
    return "**At scale.** " + " ".join(sentences) if sentences else None


def _spread_line(data: ReportData, numbers: dict) -> str | None:
    spreads = [(n, data.spread(n).between_trials_cv) for n in data.measured if data.spread(n)]
    spreads = [(n, s) for n, s in spreads if s is not None]
    if not spreads:
        return None
    name, worst = max(spreads, key=lambda p: p[1])
    numbers["largest between-trial cv"] = worst
    trials = data.spread(name).trials
    return (f"**How sure.** Trials of one backend differ by up to {fmt.percent(worst)} ({name}'s cold start, CV "
            f"between trials); each interval here resamples the {trials} trials, so it includes that spread.")
