"""Where the runtimes that ship in npm packages are: Deno, Bun and Wizer,
pinned by workloads/engines/package-lock.json and installed by
scripts/setup-host.sh (`npm ci --prefix workloads/engines`).

The backends run the real binaries under node_modules, never npm's launcher
shims in node_modules/.bin (Deno's documentation warns that its shim slows
start-up; Wizer's is a node script that starts the binary)."""

from __future__ import annotations

from pathlib import Path

from harness.paths import REPO_ROOT

ENGINES_DIR = REPO_ROOT / "workloads" / "engines"
INSTALL_HINT = "run scripts/setup-host.sh (npm ci --prefix workloads/engines)"

DENO = "@deno/linux-x64-glibc/deno"
BUN = "bun/bin/bun.exe"  # the real binary: bun's postinstall puts it in place of its shim
WIZER = "@bytecodealliance/wizer-linux-x64/wizer"


def engine_binary(relative: str) -> Path:
    """The binary's path under workloads/engines/node_modules (it may be missing)."""
    return ENGINES_DIR / "node_modules" / relative
