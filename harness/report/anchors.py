"""The published figures isobench's own measurements are placed beside, as
data (from ../shared/reference/ANCHORS.md). None of them was measured here:
each says whether it is a published claim or a published measurement, its
source, and its conditions.

`axis` says which comparison plot a figure belongs on ("cold_start" in ms,
"memory" per instance); None keeps it to the table (relative or qualitative
figures). `relation` is how the source states the value: "≈" (about), "≤" or
"<" (a bound), "=" (a measured number).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

CLAIM = "published claim"
MEASUREMENT = "published measurement"
MB = 1e6  # the sources write MB; taken as 10^6 bytes
MIB = float(1 << 20)


@dataclass(frozen=True)
class Anchor:
    figure: str  # what the number is, in words
    value: float
    unit: str  # "ms", "MB", "MiB" or "x"
    kind: str  # CLAIM or MEASUREMENT
    source: str
    conditions: str
    axis: str | None = None  # "cold_start", "memory" or None
    relation: str = "≈"
    label: str = ""  # short label for a plot

    def in_axis_unit(self) -> float:
        """The value in the unit of its plot: ms for cold start, MiB for memory."""
        if self.unit == "MB":
            return self.value * MB / MIB
        return self.value

    def stated(self) -> str:
        value = f"{self.value:g}"
        unit = "×" if self.unit == "x" else f" {self.unit}"
        return f"{'' if self.relation == '=' else self.relation + ' '}{value}{unit}"

    def as_dict(self) -> dict:
        return asdict(self)


CF_2018 = "Cloudflare, “Cloud Computing without Containers” (blog, 2018)"
CF_2018_CONDITIONS = "measured “on my machine”; no method or distribution given"
FIRECRACKER = "Firecracker SPECIFICATION.md (NSDI 2020)"
FIRECRACKER_CONDITIONS = ("i3.metal, 1 vCPU, 128 MiB guest, serial console off; an upper bound "
                          "the project's CI enforces")
CRUN = "crun README"
CRUN_CONDITIONS = "100 sequential `/bin/true` containers, the OCI runtime called directly (no Docker daemon)"
GVISOR = "gVisor performance guide (startup.csv, density.csv)"
GVISOR_START = "GCE n1-standard-4, Docker, ptrace platform; `docker run alpine true`"
GVISOR_MEMORY = ("GCE n1-standard-4, Docker, ptrace platform; the drop in host free memory "
                 "over 50 containers")
MOBY = "moby/moby issue 38077"

ANCHORS: tuple[Anchor, ...] = (
    Anchor("V8 isolate start", 5, "ms", CLAIM, CF_2018, CF_2018_CONDITIONS,
           axis="cold_start", label="isolate start"),
    Anchor("Node process start (“about 100x” the isolate's 5 ms)", 100 * 5, "ms", CLAIM, CF_2018,
           CF_2018_CONDITIONS + "; stated only as a factor of the isolate's start",
           axis="cold_start", label="Node process start (100 × 5 ms)"),
    Anchor("worker warmed during the TLS handshake", 5, "ms", CLAIM,
           "Cloudflare, “Eliminating cold starts with Cloudflare Workers” (blog, 2020)",
           "a design claim", relation="<"),
    Anchor("micro-VM boot, InstanceStart API call to /sbin/init", 125, "ms", MEASUREMENT, FIRECRACKER,
           FIRECRACKER_CONDITIONS, axis="cold_start", relation="≤", label="Firecracker micro-VM boot"),
    Anchor("container start with crun", 1690 / 100, "ms", MEASUREMENT, CRUN, CRUN_CONDITIONS + "; 1.69 s / 100",
           axis="cold_start", relation="≈", label="crun container start"),
    Anchor("container start with runc", 3340 / 100, "ms", MEASUREMENT, CRUN, CRUN_CONDITIONS + "; 3.34 s / 100",
           axis="cold_start", relation="≈", label="runc container start"),
    Anchor("`docker run` with runc", 1193, "ms", MEASUREMENT, GVISOR, GVISOR_START, axis="cold_start",
           relation="=", label="docker run, runc"),
    Anchor("`docker run` with runsc (gVisor)", 1144, "ms", MEASUREMENT, GVISOR, GVISOR_START, axis="cold_start",
           relation="=", label="docker run, runsc (gVisor)"),
    Anchor("`docker run --rm busybox true`, 8-core desktop", 500, "ms", MEASUREMENT, MOBY, "user reports",
           axis="cold_start", relation="≈", label="docker run, 8-core desktop"),
    Anchor("`docker run --rm busybox true`, 1-core VM", 3200, "ms", MEASUREMENT, MOBY, "user reports",
           axis="cold_start", relation="≈", label="docker run, 1-core VM"),
    Anchor("lean containers start faster than Docker", 18, "x", MEASUREMENT, "SOCK (USENIX ATC 2018)",
           "a research system; forking from a zygote gives another 3x", relation="≈"),
    Anchor("isolate that shares the runtime", 3, "MB", CLAIM, CF_2018, CF_2018_CONDITIONS,
           axis="memory", label="isolate sharing the runtime"),
    Anchor("basic Node Lambda", 35, "MB", CLAIM, CF_2018, CF_2018_CONDITIONS,
           axis="memory", label="basic Node Lambda"),
    Anchor("Firecracker VMM memory overhead", 5, "MiB", MEASUREMENT, FIRECRACKER, FIRECRACKER_CONDITIONS,
           axis="memory", relation="≤", label="Firecracker VMM overhead"),
    Anchor("empty container, runc", 4.1, "MB", MEASUREMENT, GVISOR, GVISOR_MEMORY, axis="memory",
           relation="=", label="empty container, runc"),
    Anchor("empty container, runsc (gVisor)", 23.7, "MB", MEASUREMENT, GVISOR, GVISOR_MEMORY, axis="memory",
           relation="=", label="empty container, runsc"),
    Anchor("Node container, runc", 76.7, "MB", MEASUREMENT, GVISOR, GVISOR_MEMORY, axis="memory",
           relation="=", label="Node container, runc"),
    Anchor("Node container, runsc (gVisor)", 124.1, "MB", MEASUREMENT, GVISOR, GVISOR_MEMORY, axis="memory",
           relation="=", label="Node container, runsc"),
)


def for_axis(axis: str) -> list[Anchor]:
    return [anchor for anchor in ANCHORS if anchor.axis == axis]


def short_source(anchor: Anchor) -> str:
    """'Cloudflare 2018', 'gVisor', ... for plot labels."""
    text = anchor.source
    if text.startswith("Cloudflare"):
        year = text.rsplit(",", 1)[-1].strip(" )")
        return f"Cloudflare blog {year}"
    return text.split(" (")[0].replace(" SPECIFICATION.md", "").replace(" performance guide", "")
