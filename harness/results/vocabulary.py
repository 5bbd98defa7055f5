"""One vocabulary for every reader and writer of results: what a figure
declares (each suite in harness/suites/ declares its own figures), the
memory kinds and what each counts, the backend families and their colours,
and the concurrency modes. Nothing here knows a backend by name:
a run records each backend's family, and everything else follows from it."""

from __future__ import annotations

from dataclasses import dataclass

MIB = float(1 << 20)
GIB = float(1 << 30)
CONFIDENCE = 0.95


# ---------------------------------------------------------------- timing figures

# The CPU regimes a timed block runs in (harness/procedures/cpu_regime.py).
REGIMES = {
    "idle": "idle CPUs: as the machine is; an idle CPU sleeps in whatever state its cpuidle governor picks, and "
            "waking it is part of what is timed",
    "awake": "CPUs held awake: a PM QoS request holds /dev/cpu_dma_latency at 0 µs for the block, so an idle CPU "
             "polls instead of sleeping",
}


@dataclass(frozen=True)
class Figure:
    """A timing figure: how it is stored (seconds) and shown, and the CPU regime it was timed in."""

    key: str
    label: str
    unit: str  # display unit
    scale: float  # stored seconds * scale = display unit
    meaning: str
    regime: str = "idle"
    clock: str = "wall"  # wall or cpu
    series: bool = True  # kept as samples tagged by trial (engine: loops, not a series)
    ratio: bool = False  # its ratio to the reference backend is a figure too (it carries across machines)
    tailed: bool = False  # the summary gives its tail percentiles

    @property
    def summary_key(self) -> str:
        """Its name in a summary: the key and its unit, e.g. cold_start_ms, warm_call_awake_us."""
        return f"{self.key}_{UNIT_SUFFIXES[self.unit]}"

    def awake(self, key: str) -> "Figure":
        """The same figure timed with the CPUs held awake, under `key`."""
        return Figure(key, f"{self.label}, CPUs awake", self.unit, self.scale,
                      f"{self.meaning} Timed with the CPUs held awake (PM QoS at 0 µs).", regime="awake",
                      clock=self.clock, series=self.series, ratio=self.ratio, tailed=self.tailed)

    @property
    def unit_words(self) -> str:
        """Its unit as a summary's `units` spells it out."""
        return (UNIT_WORDS[self.unit] + (" of CPU time" if self.clock == "cpu" else "")
                + (", CPUs held awake" if self.regime == "awake" else ""))


BELOW_RESOLUTION = "below resolution"  # printed in place of a figure the timer or loop cannot resolve
UNIT_SUFFIXES = {"ms": "ms", "µs": "us", "ns": "ns"}
UNIT_WORDS = {"ms": "milliseconds", "µs": "microseconds", "ns": "nanoseconds"}


# ---------------------------------------------------------------- memory kinds

@dataclass(frozen=True)
class MemoryKind:
    key: str
    label: str
    meaning: str
    headline: bool = False  # shown in summaries and compared by default
    ratio: bool = False  # compared as a ratio to the reference backend


MEMORY_KINDS: dict[str, MemoryKind] = {kind.key: kind for kind in (
    MemoryKind("uss", "USS", "unique set size: private pages, freed when the process exits", headline=True,
               ratio=True),
    MemoryKind("pss", "PSS", "proportional set size: shared pages split among the processes that map them",
               headline=True, ratio=True),
    MemoryKind("rss", "RSS", "resident set size: shared pages counted again in every process"),
    MemoryKind("cgroup", "cgroup", "the container's memory cgroup (v1: memory.stat rss + cache; v2: memory.current)",
               headline=True),
    MemoryKind("shim_pss", "shim PSS", "the PSS of each container's containerd-shim, outside the container's cgroup",
               headline=True),
    MemoryKind("runtime_pss", "runtime PSS", "the PSS of the foreground `runc run` / `crun run` process, the "
               "container's parent in place of the shim, outside its cgroup"),
    MemoryKind("docker_stats", "docker stats", "what `docker stats` shows (usage minus inactive file pages)"),
    MemoryKind("v8_heap_physical", "V8 heap", "V8's heap statistics: the V8 heap only, not all the memory an "
               "isolate costs"),
    MemoryKind("v8_heap_used", "V8 heap used", "V8's heap statistics: used heap bytes only"),
    MemoryKind("linear_memory", "Wasm linear memory", "the size of each Wasm Store's linear memory (pages grown, "
               "touched or not)"),
    MemoryKind("in_process_anon", "workerd in-process anon", "anonymous pages (heap, isolates) of one workerd "
               "process hosting N workers: its slope is the cost of one more worker in the same process"),
    MemoryKind("in_process_rss", "workerd in-process RSS", "the RSS of one workerd process hosting N workers"),
)}


def memory_label(kind: str) -> str:
    return MEMORY_KINDS[kind].label if kind in MEMORY_KINDS else kind


def memory_meaning(kind: str) -> str:
    """What a kind, or a sum of kinds ("cgroup+shim_pss"), counts."""
    parts = [MEMORY_KINDS[k].meaning if k in MEMORY_KINDS else k for k in kind.split("+")]
    return "; plus ".join(parts)


# ---------------------------------------------------------------- families and colours

@dataclass(frozen=True)
class Family:
    key: str
    label: str
    colours: tuple[str, ...]  # distinct shades, one per member in registry order


FAMILIES: dict[str, Family] = {family.key: family for family in (
    Family("in-process", "in-process", ("#08306b", "#2f7fc1", "#41b6c4", "#7b68ee", "#6baed6", "#3a2e8c")),
    Family("process", "process", ("#b34700", "#f28e2b", "#8c6d31", "#d4a017", "#7f2704", "#e0785a", "#5c4033")),
    Family("container", "container", ("#00662e", "#3fa34d", "#8cc63f", "#1d9e8f")),
    Family("sandboxed-container", "sandboxed container", ("#c0143c", "#e7298a")),
)}
OTHER_COLOURS = ("#555555", "#8c564b", "#bcbd22", "#e377c2")


def family_rank(family: str) -> int:
    keys = list(FAMILIES)
    return keys.index(family) if family in keys else len(keys)


def colour(family: str, index_in_family: int) -> str:
    """A backend's colour: its family's shade at its position in that family."""
    shades = FAMILIES[family].colours if family in FAMILIES else OTHER_COLOURS
    return shades[index_in_family % len(shades)]


# ---------------------------------------------------------------- instance classes, concurrency

IN_PROCESS, PROCESS, CONTAINER = "in-process", "process", "container"
INSTANCE_CLASSES = (IN_PROCESS, PROCESS, CONTAINER)
PER_CALLER = "per-caller"  # each concurrent caller has its own instance
SHARED = "shared"  # concurrent callers share one instance
CONCURRENCY_QUESTIONS = {
    PER_CALLER: "K callers at once, each with its own warm instance (one request at a time per instance, as a "
                "function host that scales out by instances)",
    SHARED: "K callers at once, all routed to one warm instance (as a host that sends every request to a warm "
            "isolate)",
}

# What a backend stands for in published figures: a backend declares the roles
# it plays (Backend.roles), and the report pairs claims with backends by role.
ROLES = {
    "v8-isolate": "a V8 isolate in a running process",
    "node-process": "a fresh node process",
    "warm-process": "a process started ahead of time",
    "docker-container": "a Docker container (runc)",
    "gvisor-container": "a Docker container under gVisor",
    "runc-direct": "a container run by runc without Docker",
    "crun-direct": "a container run by crun without Docker",
    "wasm-instance": "a WebAssembly instance",
    "wasm-preinitialised": "an instance of a pre-initialised (Wizer) WebAssembly module",
    "bun-process": "a fresh Bun process",
}

# How a warm-call series settles (harness/analysis/steady_state.py; Barrett et al. 2017).
FLAT, WARMUP, SLOWDOWN, NO_STEADY_STATE, INCONSISTENT = "flat", "warm-up", "slowdown", "no steady state", "inconsistent"
STEADY_CLASSES = {
    FLAT: "no change: as fast from the first call as it gets",
    WARMUP: "got faster, then stayed there: the steady state is the fastest segment",
    SLOWDOWN: "got slower and stayed there: an earlier segment was faster than the steady state",
    NO_STEADY_STATE: "still changing near the end of the series",
}
