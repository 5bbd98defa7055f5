"""The CI gate's power study: how often it fails unchanged code (false
alarms) and how often it catches a +15% slowdown (detection), for both gates:
the A/B (`harness ab`, this checkout against a base, trials in pairs) and the
baseline set (`harness compare results/baseline/ci/ NEW --ratios-only`).

    python scripts/power_study.py measure [--unchanged 10] [--injected 5] [--baselines 5]
    python scripts/power_study.py evaluate [--threshold 10%] [--alpha 0.05] [--out docs/power-study.md]

`measure` keeps every run's raw results under results/power-study/ (and the
baseline set under results/baseline/ci/), skipping what is already there, so
it can be stopped and resumed. Each unchanged run is an A/A `ab --base HEAD`;
each injected run is the same with `--inject-start-delay BACKEND=15%` on the
head side (a busy-wait of 15% of that backend's median cold start, calibrated
at the start of the run). `evaluate` judges the stored runs with the gate's
rules (the settings can be varied without measuring again) and writes the
rates. Run it on a quiet machine and run nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.findings.gate import ALPHA as GATE_ALPHA, BASELINE_SET, THRESHOLD as GATE_THRESHOLD  # noqa: E402

STUDY = ROOT / "results" / "power-study"
BASELINE = ROOT / BASELINE_SET
INJECTED = ("isolate", "subprocess", "container")
EFFECT = "15%"


def _harness(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT).returncode


def _gzip_into(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(source.read_bytes(), mtime=0))


def measure_baselines(count: int) -> None:
    BASELINE.mkdir(parents=True, exist_ok=True)
    while len(list(BASELINE.glob("*.json*"))) < count:
        with tempfile.TemporaryDirectory() as out:
            print(f"power study: baseline run {len(list(BASELINE.glob('*.json*'))) + 1} of {count}", flush=True)
            if _harness("run", "--profile", "ci", "--out", out) != 0:
                print("power study: the baseline run failed; trying again", flush=True)
                continue
            run = next(p for p in Path(out).glob("2*-ci.json"))
            _gzip_into(run, BASELINE / f"{run.name}.gz")


def measure_ab(label: str, index: int, inject: str | None) -> None:
    """One A/A run; inject: BACKEND=P%[:sleep] on the head side, or None."""
    folder = STUDY / f"{label}-{index:02d}"
    if (folder / "base.json.gz").exists() and (folder / "head.json.gz").exists():
        return
    with tempfile.TemporaryDirectory() as out:
        args = ["ab", "--base", "HEAD", "--profile", "ci", "--out", out, "--format", "json"]
        if inject:
            args += ["--inject-start-delay", inject]
        began = time.monotonic()
        code = subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, stdout=subprocess.DEVNULL).returncode
        if code not in (0, 1):
            print(f"power study: {label} {index} exited {code}; left out", flush=True)
            return
        for side in ("base", "head"):
            _gzip_into(next(Path(out).glob(f"*-ab-{side}.json")), folder / f"{side}.json.gz")
        (folder / "seconds").write_text(f"{time.monotonic() - began:.1f}\n")
    print(f"power study: {label} {index} done ({time.monotonic() - began:.0f} s)", flush=True)


def measure(args) -> None:
    """Runs kept under results/power-study/LABEL-NN: unchanged-NN, plus15-BACKEND-NN (a busy-wait of 15%),
    plus10-BACKEND-NN, plus10-BACKEND-sleep-NN (a sleep of 10%: wall time only)."""
    measure_baselines(args.baselines)
    effect = args.effect.rstrip("%")
    tag = f"-{args.tag}" if args.tag else ""
    plan = [(f"unchanged{tag}", i, None) for i in range(args.unchanged)]
    for kind in args.kinds.split(","):
        suffix = "" if kind == "busy" else f"-{kind}"
        plan += [(f"plus{effect}-{name}{suffix}{tag}", i, f"{name}={effect}%:{kind}")
                 for i in range(args.injected) for name in args.inject.split(",")]
    plan.sort(key=lambda item: (item[1], item[0]))  # interleave the kinds over time
    for label, index, inject in plan:
        measure_ab(label, index, inject)


# ---------------------------------------------------------------- evaluation

def shrink(run, rounds: int | None, pairs: int | None, memory_trials: int | None = None):
    """The run as if it had measured fewer cold-start rounds per trial, or fewer trials
    (the first ones): to see what a cheaper design would have resolved, from the same data."""
    from dataclasses import replace

    from harness.results.model import ColdStart, FrozenMap, Series

    keep_trials = sorted({t.index for t in run.complete_trials})[:pairs] if pairs else None

    def cut(series):
        if series is None:
            return None
        kept = [(v, t) for v, t in zip(series.values, series.trials) if keep_trials is None or t in keep_trials]
        if rounds:
            count: dict[int, int] = {}
            kept = [(v, t) for v, t in kept if count.setdefault(t, 0) < rounds and not count.__setitem__(t, count[t] + 1)]
        return Series(tuple(v for v, _ in kept), tuple(t for _, t in kept))

    backends = {}
    for name, result in run.backends.items():
        cold = result.cold_start
        if cold:
            cold = replace(cold, wall=cut(cold.wall), cpu=cut(cold.cpu), phases=FrozenMap({}))
        memory = result.memory
        if memory and keep_trials is not None:
            memory = replace(memory, sweeps=tuple(s for s in memory.sweeps if s.trial in keep_trials))
        if memory and memory_trials:
            memory = replace(memory, sweeps=memory.sweeps[:memory_trials])
        backends[name] = replace(result, cold_start=cold, memory=memory)
    trials = tuple(t for t in run.trials if keep_trials is None or t.index in keep_trials)
    return replace(run, backends=FrozenMap(backends), trials=trials)


def baseline_sets(root: Path, rounds: int | None) -> dict[tuple, list]:
    """Every baseline set under results/baseline/ (this machine's in ci/, older
    machines' under archive/), keyed by the machine it was recorded on: a run
    is judged against the set of its own machine, as .ci/run does."""
    from harness.results.store import load

    sets: dict[tuple, list] = {}
    for path in sorted((root / BASELINE.relative_to(ROOT)).parent.rglob("*-ci.json.gz")):
        run = shrink(load(path), rounds, None)
        sets.setdefault(tuple(sorted(run.machine.identity.items())), []).append(run)
    return sets


def _judge(settings, baselines, args) -> list[dict]:
    """Each committed A/B run through the gate's own two checks (harness/findings/gate.py)."""
    from harness.findings.gate import judge
    from harness.results.store import load

    rows = []
    for folder in sorted(p for p in (Path(args.root) / STUDY.relative_to(ROOT)).iterdir() if p.is_dir()):
        base = shrink(load(folder / "base.json.gz"), args.rounds, args.pairs, args.memory_trials)
        head = shrink(load(folder / "head.json.gz"), args.rounds, args.pairs, args.memory_trials)
        kind = folder.name.rsplit("-", 1)[0]
        mine = baselines.get(tuple(sorted(head.machine.identity.items())), [])
        verdict = judge(base, head, mine, settings)
        seconds = float((folder / "seconds").read_text()) if (folder / "seconds").exists() else None
        rows.append({"run": folder.name, "kind": kind, "ab": verdict.ab_failed, "set": verdict.set_failed,
                     "seconds": seconds, "ab_rows": _regressions(verdict.ab),
                     "set_rows": _regressions(verdict.baseline_set)})
    return rows


def _regressions(comparison) -> list[dict]:
    """A Comparison's regression rows as JSON (none when the check did not run)."""
    return [row.to_json() for row in comparison.regression_rows()] if comparison else []


def evaluate(args) -> None:
    from harness.findings.gate import GateSettings
    from harness.commands.compare import parse_threshold
    from harness.results.store import load

    root = Path(args.root)
    baselines = baseline_sets(root, args.rounds)
    grid = []
    for threshold in args.threshold.split(","):
        for alpha in (float(a) for a in str(args.alpha).split(",")):
            for statistic in args.statistic.split(","):
                grid.append(GateSettings(threshold=parse_threshold(threshold), alpha=alpha, clock=args.clock,
                                         statistic=statistic))
    sections = [(settings, _judge(settings, baselines, args)) for settings in grid]
    this_machine = [shrink(load(p), args.rounds, None)
                    for p in sorted((root / BASELINE.relative_to(ROOT)).glob("*-ci.json*"))]
    text = report(sections, max((len(v) for v in baselines.values()), default=0), args) + noise(this_machine, args)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def _rate(hits: int, total: int) -> str:
    if not total:
        return "–"
    from scipy.stats import binomtest

    ci = binomtest(hits, total).proportion_ci(0.95)
    return f"{hits}/{total} = {hits / total:.0%} ({ci.low:.0%}–{ci.high:.0%})"


def _confirmed(hits: int, total: int) -> str:
    """Fail, then fail again on the re-measure: about the single-pass rate squared (independent passes)."""
    return f"{(hits / total) ** 2:.0%}" if total else "–"


def report(sections, baseline_runs: int, args) -> str:
    import statistics

    lines = ["# Power study of the CI gate", "",
             "Each run is an A/A `ab --base HEAD --profile ci`; a `plusP-BACKEND` run has a busy-wait of P% of "
             "that backend's median cold start injected into the head side's starts (wall and CPU time), a "
             "`plusP-BACKEND-sleep` run a sleep of P% (wall time only). Each run is judged by both gates: the A/B "
             "(head against base, pairs resampled together) and the baseline set (the head side against the `ci` "
             f"runs, up to {baseline_runs}, of the set recorded on the run's own machine, ratios only; a run with no "
             "set of its machine counts as not failing it, as in .ci/run, where such a set is advice). CI fails a "
             "commit when a gate fails and then fails again on one re-measure: for independent passes its rates are "
             "about the single-pass rates squared (the \"confirmed\" columns)."
             + (f" Replayed with the first {args.rounds} rounds of each trial." if args.rounds else "")
             + (f" Replayed with the first {args.pairs} pairs." if args.pairs else "")
             + (f" Memory from the first {args.memory_trials} trials only." if args.memory_trials else ""), ""]
    for settings, rows in sections:
        lines += [f"## threshold {settings.threshold:.0%}, alpha {settings.alpha}, statistic {settings.statistic}, "
                  f"clock {settings.clock}", "",
                  "| kind | runs | A/B fails | baseline set fails | either fails (one pass) | either, confirmed | "
                  "median time |", "|---|---|---|---|---|---|---|"]
        for kind in sorted({r["kind"] for r in rows}):
            mine = [r for r in rows if r["kind"] == kind]
            either = sum(r["ab"] or r["set"] for r in mine)
            seconds = [r["seconds"] for r in mine if r["seconds"]]
            lines.append(f"| {kind} | {len(mine)} | {_rate(sum(r['ab'] for r in mine), len(mine))} "
                         f"| {_rate(sum(r['set'] for r in mine), len(mine))} | {_rate(either, len(mine))} "
                         f"| {_confirmed(either, len(mine))} "
                         + (f"| {statistics.median(seconds):.0f} s |" if seconds else "| – |"))
        failed = [f"{r['run']} ({gate}): {row['backend']} {row['metric']} {row['ratio']:.3f}"
                  + (f", p {row['p_value']:.2g}" if row.get("p_value") is not None else "")
                  for r in rows for gate in ("ab", "set") for row in r[f"{gate}_rows"]]
        if failed:
            lines += ["", "<details><summary>Rows that failed</summary>", "", *[f"- {f}" for f in failed], "",
                      "</details>"]
        lines.append("")
    return "\n".join(lines) + "\n"


def noise(baselines, args) -> str:
    """Where the spread comes from, per backend and clock: within a trial, between the two trials of a pair
    (unchanged A/A runs), and between runs (the baseline set)."""
    import numpy as np

    from harness.results.store import load

    folders = sorted(p for p in (Path(args.root) / STUDY.relative_to(ROOT)).iterdir()
                     if p.is_dir() and p.name.startswith("unchanged"))
    lines = ["## Where the spread comes from (unchanged runs)", "",
             "Log scale, as coefficients of variation. *Within*: cold starts inside one trial. *Pair, sampled*: what "
             "the within-trial spread alone makes a pair's two trial medians differ by. *Pair, seen*: how much they "
             "did differ. *Trial level*: the rest, what each trial process adds on its own. *Run to run*: the spread "
             "of the figure's median between the runs of results/baseline/ci/ (the set of the machine this was written on).", "",
             "| backend | clock | within | pair, sampled | pair, seen | trial level | run to run |",
             "|---|---|---:|---:|---:|---:|---:|"]
    from harness.backends import DEFAULT_BACKENDS

    for name in DEFAULT_BACKENDS:
        for key, clock in (("cold_start", "wall"), ("cold_start_cpu", "CPU")):
            within, seen, sampled = [], [], []
            for folder in folders:
                base, head = load(folder / "base.json.gz"), load(folder / "head.json.gz")
                b, h = base.backends[name].timing(key).groups(), head.backends[name].timing(key).groups()
                within += [float(np.std(np.log(v), ddof=1)) for v in (*b.values(), *h.values())]
                seen += [float(np.log(np.median(h[t]) / np.median(b[t]))) for t in b if t in h]
                n = float(np.mean([len(v) for v in b.values()]))
                sampled.append(1.2533 * float(np.mean(within[-len(b) * 2:])) / np.sqrt(n) * np.sqrt(2))
            if not seen:
                continue
            pair_seen, pair_sampled = float(np.std(seen, ddof=1)), float(np.mean(sampled))
            trial_level = np.sqrt(max(0.0, pair_seen ** 2 - pair_sampled ** 2) / 2)
            runs = [float(np.median(r.backends[name].timing(key).array())) for r in baselines
                    if r.backends.get(name) and r.backends[name].timing(key)]
            run_to_run = float(np.std(np.log(runs), ddof=1)) if len(runs) > 2 else float("nan")
            lines.append(f"| {name} | {clock} | {np.mean(within):.1%} | {pair_sampled:.1%} | {pair_seen:.1%} "
                         f"| {trial_level:.1%} | {run_to_run:.1%} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- permutations of the A/A runs

def swap_pairs(base, head, trials: set[int]):
    """The two sides of an A/B run with the trials of the given pairs exchanged:
    a relabeling that is as likely as the one measured, since which side of a
    pair ran first is randomised and the two sides ran the same code."""
    from dataclasses import replace

    from harness.results.model import FrozenMap, Series

    def mix(mine, theirs):
        if mine is None or theirs is None:
            return mine
        keep = [t for t in mine.trial_ids if t not in trials]
        take = [t for t in theirs.trial_ids if t in trials]
        return Series.join([mine.only(keep), theirs.only(take)])

    def side(run, other):
        backends = {}
        for name, result in run.backends.items():
            peer = other.backends.get(name)
            if peer is None:
                backends[name] = result
                continue
            cold = result.cold_start
            if cold and peer.cold_start:
                cold = replace(cold, wall=mix(cold.wall, peer.cold_start.wall), cpu=mix(cold.cpu, peer.cold_start.cpu),
                               phases=FrozenMap({}))
            memory = result.memory
            if memory and peer.memory:
                memory = replace(memory, sweeps=tuple(sorted(
                    [s for s in memory.sweeps if s.trial not in trials]
                    + [s for s in peer.memory.sweeps if s.trial in trials], key=lambda s: s.trial)))
            backends[name] = replace(result, cold_start=cold, memory=memory)
        return replace(run, backends=FrozenMap(backends))

    return side(base, head), side(head, base)


def permute(args) -> None:
    """Every relabeling of every unchanged A/A run through the A/B gate's own
    code: the single-pass false-alarm rate, with an interval over runs."""
    import itertools

    import numpy as np

    from harness.findings.compare import REGRESSION, compare
    from harness.findings.gate import GateSettings
    from harness.commands.compare import parse_threshold
    from harness.results.store import load

    settings = GateSettings(threshold=parse_threshold(args.threshold), alpha=float(args.alpha),
                            clock=args.clock).ab_settings()  # the A/B check, as the gate makes it
    folders = sorted(p for p in (Path(args.root) / STUDY.relative_to(ROOT)).iterdir()
                     if p.is_dir() and p.name.startswith("unchanged"))
    per_run, rows = [], []
    began = time.monotonic()
    for folder in folders:
        base, head = load(folder / "base.json.gz"), load(folder / "head.json.gz")
        pairs = sorted(set(base.backends[base.reference].cold_start.wall.trial_ids))
        alarms = 0
        for chosen in itertools.product((False, True), repeat=len(pairs)):
            swapped = {t for t, swap in zip(pairs, chosen) if swap}
            b, h = swap_pairs(base, head, swapped)
            comparison = compare(b, h, settings)
            if comparison.verdict == REGRESSION:
                alarms += 1
                rows += [f"{folder.name} swap {sorted(swapped)}: {r.backend} {r.metric} {r.ratio:.3f}"
                         for r in comparison.regression_rows()]
        per_run.append((folder.name, alarms, 2 ** len(pairs)))
        print(f"power study: {folder.name}: {alarms} of {2 ** len(pairs)} relabelings fail "
              f"({time.monotonic() - began:.0f} s)", flush=True)
    hits, total = sum(a for _, a, _ in per_run), sum(n for _, _, n in per_run)
    rates = np.array([a / n for _, a, n in per_run])
    rng = np.random.default_rng(20261202)
    boot = rates[rng.integers(0, len(rates), size=(20000, len(rates)))].mean(axis=1)
    upper = float(np.quantile(boot, 0.95))
    lines = ["## False alarms over every relabeling of the unchanged runs", "",
             f"Each unchanged A/A run has {len(pairs)} trial pairs, and which side of a pair ran first was random, "
             f"so exchanging the two sides' trials in any subset of pairs gives a run as likely as the one "
             f"measured: 2^{len(pairs)} = {2 ** len(pairs)} relabelings per run, {total} in all, each judged by "
             f"the A/B gate's own code (threshold {settings.threshold:.0%}, alpha {settings.alpha}, clock "
             f"{settings.clock}, cold start and memory). The relabelings of one run share its samples, so the "
             f"interval resamples the {len(per_run)} runs, not the relabelings.", "",
             "| run | relabelings that fail the A/B gate |", "|---|---|",
             *[f"| {name} | {alarms} of {n} |" for name, alarms, n in per_run], "",
             f"**Single-pass false-alarm rate: {hits}/{total} = {hits / total:.1%}**, one-sided 95% upper bound "
             f"{upper:.1%} (bootstrap over the {len(per_run)} runs); with the confirming re-measure, about "
             f"{(hits / total) ** 2:.2%}. The target is at most 5%, with an upper bound below 5%: "
             f"{'met' if upper < 0.05 else 'NOT met'}.", ""]
    if rows:
        lines += ["<details><summary>Rows that failed</summary>", "", *[f"- {r}" for r in rows[:200]], "",
                  "</details>", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--unchanged", type=int, default=10)
    m.add_argument("--injected", type=int, default=5, help="runs per injected backend and kind")
    m.add_argument("--effect", default=EFFECT, help="the injected delay, as a share of the median (default: %(default)s)")
    m.add_argument("--kinds", default="busy", help="busy, sleep, or both comma-separated (default: %(default)s)")
    m.add_argument("--inject", default=",".join(INJECTED), help="backends to inject into (default: %(default)s)")
    m.add_argument("--tag", default="", help="appended to each run's label, e.g. the machine (unchanged-TAG-NN)")
    m.add_argument("--baselines", type=int, default=5)
    e = sub.add_parser("evaluate")
    e.add_argument("--threshold", default=f"{GATE_THRESHOLD:.0%}", help="one or several, comma-separated (a grid)")
    e.add_argument("--alpha", default=str(GATE_ALPHA), help="one or several, comma-separated (the gate's: %(default)s)")
    e.add_argument("--clock", default="both", choices=("both", "wall", "cpu"))
    e.add_argument("--statistic", default="median", help="median, trimmed, or both comma-separated")
    e.add_argument("--rounds", type=int, default=None, help="use only the first N cold-start rounds of each trial")
    e.add_argument("--pairs", type=int, default=None, help="use only the first N trial pairs of each A/B run")
    e.add_argument("--memory-trials", type=int, default=None, help="use the memory sweeps of the first N trials only")
    e.add_argument("--out", default=None)
    e.add_argument("--root", default=str(ROOT), help="the checkout whose results/ holds the study (default: this one)")
    p = sub.add_parser("permute", help="the A/B gate's false alarms over every relabeling of the unchanged runs")
    p.add_argument("--threshold", default=f"{GATE_THRESHOLD:.0%}")
    p.add_argument("--alpha", default=str(GATE_ALPHA))
    p.add_argument("--clock", default="both", choices=("both", "wall", "cpu"))
    p.add_argument("--out", default=None)
    p.add_argument("--root", default=str(ROOT))
    args = parser.parse_args()
    {"measure": measure, "evaluate": evaluate, "permute": permute}[args.command](args)


if __name__ == "__main__":
    main()
