"""The headline: one sentence computed from the data, nothing typed by hand.

"On this machine a V8 isolate cold-starts 72x (95% CI 69–73) faster than a
Docker container and costs 11x less memory per instance (PSS)", then the same
against each other backend that ran. Ratios come from the summary
(harness.analysis.summary.ratios): cold start is a ratio of medians with a bootstrap
95% CI; memory is a ratio of PSS per instance at the largest N (one sweep, so
no interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.report.fmt import number as fmt_number
from harness.report.fmt import ratio as fmt_ratio
from harness.analysis.stats import CONFIDENCE
from harness.analysis.summary import REFERENCE_BACKEND

CI = f"{CONFIDENCE:.0%} CI"

# How the headline names a backend; others are named by their backend name.
DESCRIPTIONS = {
    "container": "a Docker container",
    "subprocess": "a node process",
}
# The first of these that ran is the headline's comparison.
PREFERRED = ("container", "subprocess")


def describe(name: str) -> str:
    return DESCRIPTIONS.get(name, f"the `{name}` backend")


@dataclass
class Headline:
    text: str  # markdown
    numbers: dict[str, float] = field(default_factory=dict)  # what each number in the text is


def _ordered_others(summary: dict) -> list[str]:
    available = [name for name, entry in summary["backends"].items()
                 if entry["available"] and name != REFERENCE_BACKEND]
    first = [name for name in PREFERRED if name in available]
    return first + [name for name in available if name not in first]


def _headline_others(summary: dict) -> list[str]:
    """The preferred comparisons that ran, or else the first other backend that ran."""
    others = _ordered_others(summary)
    preferred = [name for name in others if name in PREFERRED]
    return preferred or others[:1]


def others_line(summary: dict) -> str | None:
    """The backends the headline leaves out, in one line: their cold start over the isolate's."""
    shown = set(_headline_others(summary))
    ratios = summary["ratios"].get("cold_start", {})
    parts = []
    for name in _ordered_others(summary):
        ratio = ratios.get(f"{name}/{REFERENCE_BACKEND}")
        if name not in shown and ratio:
            parts.append(f"`{name}` {fmt_ratio(ratio['value'])}x")
    if not parts:
        return None
    return f"Cold start of the other backends, as a multiple of the isolate's: {', '.join(parts)} (see the summary)."


def _cold_clause(ratio: dict | None, numbers: dict, key: str) -> str | None:
    if not ratio:
        return None
    value, ci = ratio["value"], ratio.get("ci95")
    if ci and ci[0] <= 1 <= ci[1]:
        numbers[f"{key} ratio"] = value
        numbers[f"{key} ci low"], numbers[f"{key} ci high"] = ci
        return (f"cold-starts about as fast (ratio {fmt_ratio(value)}x, {CI} "
                f"{fmt_ratio(ci[0])}–{fmt_ratio(ci[1])}, includes 1)")
    if value >= 1:
        numbers[f"{key} ratio"] = value
        interval = ""
        if ci:
            numbers[f"{key} ci low"], numbers[f"{key} ci high"] = ci
            interval = f" ({CI} {fmt_ratio(ci[0])}–{fmt_ratio(ci[1])})"
        return f"cold-starts **{fmt_ratio(value)}x**{interval} faster"
    inverse = 1 / value
    numbers[f"{key} inverse ratio"] = inverse
    interval = ""
    if ci:
        numbers[f"{key} inverse ci low"], numbers[f"{key} inverse ci high"] = 1 / ci[1], 1 / ci[0]
        interval = f" ({CI} {fmt_ratio(1 / ci[1])}–{fmt_ratio(1 / ci[0])})"
    return f"cold-starts **{fmt_ratio(inverse)}x**{interval} slower"


def _memory_clause(ratio: dict | None, numbers: dict, key: str) -> str | None:
    if not ratio:
        return None
    value = ratio["value"]
    if value >= 1:
        numbers[f"{key} memory ratio"] = value
        return f"costs **{fmt_ratio(value)}x** less memory per instance (PSS)"
    numbers[f"{key} memory inverse ratio"] = 1 / value
    return f"costs **{fmt_ratio(1 / value)}x** more memory per instance (PSS)"


def _against(summary: dict, other: str, numbers: dict) -> str | None:
    pair = f"{other}/{REFERENCE_BACKEND}"
    clauses = [clause for clause in (
        _cold_clause(summary["ratios"].get("cold_start", {}).get(pair), numbers, other),
        _memory_clause(summary["ratios"].get("memory_pss", {}).get(pair), numbers, other),
    ) if clause]
    if not clauses:
        return None
    return f"{' and '.join(clauses)} than {describe(other)}"


def compute_headline(summary: dict) -> Headline:
    numbers: dict[str, float] = {}
    reference = summary["backends"].get(REFERENCE_BACKEND)
    if not reference or not reference["available"]:
        why = f" ({reference['reason']})" if reference and reference.get("reason") else ""
        return Headline(f"No V8 isolate was measured in this run{why}, so there is no headline comparison.")
    others = _headline_others(summary)
    parts = [(name, _against(summary, name, numbers)) for name in others]
    parts = [(name, text) for name, text in parts if text]
    if not parts:
        cold = reference.get("cold_start_ms")
        if not cold:
            return Headline("The V8 isolate ran, but no cold start was recorded and no other backend ran.")
        numbers["isolate cold start median ms"] = cold["median"]
        return Headline(f"On this machine a V8 isolate cold-starts in **{fmt_number(cold['median'])} ms** "
                        f"(median); no other backend ran to compare it with.", numbers)
    first_name, first_text = parts[0]
    sentences = [f"On this machine a V8 isolate {first_text}."]
    for _, text in parts[1:]:
        sentences.append(f"It {text}.")
    sentences += _not_measured(summary)
    return Headline(" ".join(sentences), numbers)


def _not_measured(summary: dict) -> list[str]:
    """The headline's usual comparisons that this run could not make, and why."""
    out = []
    for name in PREFERRED:
        entry = summary["backends"].get(name)
        if entry and not entry["available"]:
            description = describe(name)
            out.append(f"{description[0].upper()}{description[1:]} was not measured ({entry.get('reason') or 'no reason recorded'}).")
    return out


def first_isolate_note(summary: dict) -> str | None:
    """The price the first isolate of a process pays (V8 platform start-up)."""
    reference = summary["backends"].get(REFERENCE_BACKEND, {})
    first, cold = reference.get("first_isolate_ms"), reference.get("cold_start_ms")
    if not first or not cold:
        return None
    return (f"These ratios are for an isolate in a process whose V8 is already up. The first isolate of a "
            f"fresh process also starts V8's platform and takes {fmt_number(first['median'])} ms (median, "
            f"n={first['n']}) instead of {fmt_number(cold['median'])} ms.")


def shim_note(summary: dict) -> str | None:
    """Containers also cost a containerd-shim each, outside their cgroup and their PSS."""
    notes = []
    for name, entry in summary["backends"].items():
        memory = entry.get("memory_per_instance_mb") or {}
        if entry["available"] and memory.get("shim_pss") and memory.get("pss"):
            notes.append(f"For {name}, PSS leaves out the containerd-shim, which adds another "
                         f"{fmt_number(memory['shim_pss'])} MiB per instance (its PSS).")
    return " ".join(notes) if notes else None
