"""The base side of an A/B run: a commit's tree in a temporary folder, with
the Python environment its own pinned requirements ask for (this one's when
they are the same; otherwise a virtual environment, cached by the
requirements' hash under build/venvs/). Assets git does not keep are shared
where they can be: the wasm build cache (keyed by its sources' hash) and
workerd's node_modules when the lock files match."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.measure.trial import PROTOCOL
from harness.paths import REPO_ROOT

VENVS = REPO_ROOT / "build" / "venvs"


class BaseUnsupported(Exception):
    """The base cannot run trials of this protocol (it predates them): one line."""


@dataclass(frozen=True)
class BaseCheckout:
    ref: str
    commit: str
    folder: Path
    python: str
    environment: str  # how its Python environment was chosen, in words


def _git(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, timeout=120, **kwargs)


def resolve(ref: str) -> str:
    found = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", text=True)
    if found.returncode != 0:
        raise UsageError(f"--base {ref}: not a commit of this repository")
    return found.stdout.strip()


def _environment(folder: Path, log) -> tuple[str, str]:
    ours, theirs = REPO_ROOT / "requirements.txt", folder / "requirements.txt"
    if theirs.exists() and ours.exists() and theirs.read_bytes() == ours.read_bytes():
        return sys.executable, "this environment (the base pins the same requirements)"
    if not theirs.exists():
        return sys.executable, "this environment (the base has no requirements.txt)"
    digest = hashlib.sha256(theirs.read_bytes()).hexdigest()[:16]
    venv = VENVS / digest
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"ab: making the base's environment from its requirements.txt in {venv} (once per requirements)")
        temporary = VENVS / f".{digest}.tmp"
        shutil.rmtree(temporary, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(temporary)], check=True, capture_output=True)
        install = subprocess.run([str(temporary / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                  "--disable-pip-version-check", "-r", str(theirs)], capture_output=True, text=True)
        if install.returncode != 0:
            shutil.rmtree(temporary, ignore_errors=True)
            tail = (install.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise UsageError(f"could not install the base's requirements: {tail}")
        temporary.rename(venv)
    return str(python), f"its own pinned requirements ({venv})"


def _share_assets(folder: Path) -> None:
    if (REPO_ROOT / "build").is_dir() and not (folder / "build").exists():
        (folder / "build").symlink_to(REPO_ROOT / "build")
    modules = REPO_ROOT / "workloads" / "workerd" / "node_modules"
    lock = Path("workloads/workerd/package-lock.json")
    if modules.is_dir() and (folder / lock).exists() and (folder / lock).read_bytes() == (REPO_ROOT / lock).read_bytes():
        (folder / lock.parent / "node_modules").symlink_to(modules)


def _protocol(python: str, folder: Path) -> int | None:
    probe = subprocess.run([python, "-c", "from harness.measure.trial import PROTOCOL; print(PROTOCOL)"], cwd=folder,
                           env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": str(folder)},
                           capture_output=True, text=True, timeout=120)
    try:
        return int(probe.stdout.strip()) if probe.returncode == 0 else None
    except ValueError:
        return None


@contextmanager
def check_out(ref: str, log=lambda message: print(message, file=sys.stderr)):
    commit = resolve(ref)
    folder = Path(tempfile.mkdtemp(prefix="isobench-ab-base-"))
    try:
        archive = _git("archive", "--format=tar", commit)
        if archive.returncode != 0:
            raise UsageError(f"--base {ref}: git archive failed: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        _share_assets(folder)
        python, how = _environment(folder, log)
        protocol = _protocol(python, folder)
        if protocol != PROTOCOL:
            raise BaseUnsupported(f"the base {ref} ({commit[:10]}) cannot run isobench trials of protocol {PROTOCOL} "
                                  f"({'it predates trials' if protocol is None else f'it speaks protocol {protocol}'})")
        yield BaseCheckout(ref, commit, folder, python, how)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
