"""Build the `wasm` backend's module: QuickJS-NG (vendored in
third_party/quickjs-ng) plus the isobench glue (harness/runtime/quickjs_wasm.c),
compiled for wasm32-wasi as a reactor with Debian's clang, lld and wasi-libc.

    python -m harness.backends.wasm_module          # build (or find) it; prints the path

The output goes to build/wasm/, named by a hash of every input (sources,
flags, compiler version), so a change rebuilds and an unchanged tree reuses
it. The build takes about a minute on one core.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.paths import REPO_ROOT

QUICKJS_DIR = REPO_ROOT / "third_party" / "quickjs-ng"
GLUE = REPO_ROOT / "harness" / "runtime" / "quickjs_wasm.c"
BUILD_DIR = REPO_ROOT / "build" / "wasm"
ENGINE_SOURCES = ("quickjs.c", "libregexp.c", "libunicode.c", "dtoa.c")
SYSROOT = Path("/usr")  # Debian's wasi-libc: /usr/include/wasm32-wasi, /usr/lib/wasm32-wasi
STACK_BYTES = 1 << 20  # the C (shadow) stack in linear memory; QuickJS's default stack limit
FLAGS = (
    "--target=wasm32-wasi", f"--sysroot={SYSROOT}", "-O2", "-mexec-model=reactor",
    "-D_GNU_SOURCE", f"-I{QUICKJS_DIR}", f"-Wl,-z,stack-size={STACK_BYTES}", "-Wl,--strip-debug",
)
APT_PACKAGES = "clang lld wasi-libc libclang-rt-14-dev-wasm32"


class BuildError(Exception):
    """The module cannot be built here; the message is one line."""


def _clang() -> str | None:
    return shutil.which("clang")


def toolchain_problem() -> str | None:
    """Why the module cannot be built here, or None."""
    clang = _clang()
    if clang is None:
        return f"clang not found (apt-get install {APT_PACKAGES})"
    if shutil.which("wasm-ld") is None:
        return f"wasm-ld not found (apt-get install {APT_PACKAGES})"
    for needed in (SYSROOT / "include/wasm32-wasi/stdlib.h", SYSROOT / "lib/wasm32-wasi/crt1-reactor.o"):
        if not needed.exists():
            return f"wasi-libc missing ({needed} not found; apt-get install {APT_PACKAGES})"
    builtins = subprocess.run([clang, "--target=wasm32-wasi", "--print-libgcc-file-name"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    if not builtins or not Path(builtins).exists():
        return f"compiler-rt builtins for wasm32 missing ({builtins or 'unknown path'}; apt-get install {APT_PACKAGES})"
    return None


def _inputs() -> list[Path]:
    return [GLUE, *sorted(QUICKJS_DIR.glob("*.[ch]"))]


def _compiler_version() -> str:
    clang = _clang()
    if clang is None:
        return "none"
    return subprocess.run([clang, "--version"], capture_output=True, text=True, timeout=30).stdout.splitlines()[0]


def source_key() -> str:
    """Hash of the sources and flags (not the compiler): names a build."""
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update("\0".join(FLAGS).encode())
    return digest.hexdigest()


def module_path() -> Path:
    return BUILD_DIR / f"isobench-quickjs-{source_key()[:16]}.wasm"


def build_info(path: Path) -> dict:
    """What the build recorded next to the module (compiler, flags, hashes)."""
    try:
        return json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def ensure_built() -> Path:
    """The module for the current sources: reused if present, else built."""
    path = module_path()
    if path.exists():
        return path
    problem = toolchain_problem()
    if problem:
        raise BuildError(f"the QuickJS wasm module is not built and cannot be: {problem}")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_DIR, prefix=".build-") as scratch:
        out = Path(scratch) / path.name
        command = [_clang(), *FLAGS, "-o", str(out), str(GLUE), *(str(QUICKJS_DIR / s) for s in ENGINE_SOURCES)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines()[-1:]
            raise BuildError(f"building the QuickJS wasm module failed: {errors[0] if errors else 'no output'}")
        info = {
            "compiler": _compiler_version(),
            "flags": list(FLAGS),
            "sources": [str(p.relative_to(REPO_ROOT)) for p in _inputs()],
            "source_sha256": source_key(),
            "module_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        }
        out.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
        # Sidecar first, module last: a module that exists always has its info.
        os.replace(out.with_suffix(".json"), path.with_suffix(".json"))
        os.replace(out, path)
    return path


def main() -> int:
    try:
        path = ensure_built()
    except BuildError as error:
        print(f"isobench: error: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
