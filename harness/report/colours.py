"""One fixed colour per backend, the same in every plot of every report.

Known backends have a colour chosen by family (isolates blue, processes
orange, containers green/red/purple, the rest apart). A backend not listed
here gets a colour from a spare palette, chosen by a stable hash of its name
(so it is the same in every run and every report) and moved along the palette
only if another backend of the same report already has it.
"""

from __future__ import annotations

import hashlib

FIXED = {
    # isolates: blues
    "isolate": "#1f77b4",
    "isolate-context": "#6baed6",
    "isolate-stpyv8": "#08519c",
    "workerd": "#17becf",
    # processes: oranges
    "subprocess": "#ff7f0e",
    "subprocess-prefork": "#fdae6b",
    "wasm": "#bcbd22",
    # containers: greens, reds, purples
    "container": "#2ca02c",
    "container-crun": "#98df8a",
    "container-gvisor": "#d62728",
    "oci-runc": "#9467bd",
    "oci-crun": "#c5b0d5",
}

# Distinct from each other and from FIXED; used for backends not listed above.
SPARE = ("#8c564b", "#e377c2", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
         "#7b4173", "#e7ba52", "#ad494a", "#a55194", "#5254a3", "#b5cf6b", "#d6616b")


def _stable_index(name: str, size: int) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % size


def colour_map(names: list[str]) -> dict[str, str]:
    """Backend name -> colour for the backends of one report (order does not matter)."""
    colours = {name: FIXED[name] for name in names if name in FIXED}
    taken = set(colours.values())
    for name in sorted(n for n in set(names) if n not in FIXED):
        index = _stable_index(name, len(SPARE))
        for step in range(len(SPARE)):
            candidate = SPARE[(index + step) % len(SPARE)]
            if candidate not in taken:
                break
        else:  # more unknown backends than spare colours: reuse, deterministically
            candidate = SPARE[index]
        colours[name] = candidate
        taken.add(candidate)
    return colours


def colour_of(name: str) -> str:
    """The colour a backend gets when it is alone (its own hash slot)."""
    return colour_map([name])[name]
