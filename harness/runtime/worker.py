"""The worker contract: a single-file ES module that exports `handler`.

Every backend evaluates the same *bundle*: the runtime prelude followed by the
worker, with its `export` keywords turned into a classic script that hands
`handler` to the runtime. The bundle is plain JavaScript, so an engine with no
module loader (py_mini_racer) and node run the very same text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from harness.paths import REPO_ROOT

RUNTIME_DIR = Path(__file__).parent
PRELUDE_PATH = RUNTIME_DIR / "prelude.js"
DEFAULT_WORKER = REPO_ROOT / "workloads" / "hello" / "worker.js"
MAX_WORKER_BYTES = 1 << 20


class WorkerError(Exception):
    """The worker file breaks the contract; the message is one line."""


_IMPORT = re.compile(r"^\s*import\s+[\w{*'\"]", re.MULTILINE)
_EXPORT_DEFAULT = re.compile(r"^\s*export\s+default\b", re.MULTILINE)
_EXPORT_DECLARATION = re.compile(
    r"^(\s*)export\s+((?:async\s+)?function\s*\*?\s*|class\s+|const\s+|let\s+|var\s+)([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_EXPORT_LIST = re.compile(r"^\s*export\s*\{([^}]*)\}\s*;?", re.MULTILINE)


@dataclass(frozen=True)
class Worker:
    path: Path
    source: str
    bundle: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    def describe(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "bytes": len(self.source.encode())}


def to_script(source: str, filename: str = "worker.js") -> str:
    """Rewrite the worker's exports so that it runs as a classic script.

    Supports `export function|class|const|let|var NAME` and `export { a, b as handler }`.
    Raises WorkerError when the module imports, has only a default export, or
    does not export `handler`.
    """
    if _IMPORT.search(source):
        raise WorkerError(f"{filename}: imports are not supported; a worker is a single file")
    exported: dict[str, str] = {}

    def declaration(match: re.Match) -> str:
        exported[match.group(3)] = match.group(3)
        return match.group(1) + match.group(2) + match.group(3)

    def export_list(match: re.Match) -> str:
        for item in match.group(1).split(","):
            parts = item.split()
            if len(parts) == 1:
                exported[parts[0]] = parts[0]
            elif len(parts) == 3 and parts[1] == "as":
                exported[parts[2]] = parts[0]
            elif parts:
                raise WorkerError(f"{filename}: cannot read export list entry {item.strip()!r}")
        return ""

    body = _EXPORT_DECLARATION.sub(declaration, source)
    body = _EXPORT_LIST.sub(export_list, body)
    if "handler" not in exported:
        if _EXPORT_DEFAULT.search(source):
            raise WorkerError(f"{filename}: export `handler` by name; a default export is not the contract")
        raise WorkerError(f"{filename}: the worker does not export `handler`")
    return (
        "(function () {\n"
        f"{body}\n"
        f"globalThis.__isobench.setHandler({exported['handler']});\n"
        "})();\n"
    )


def load_worker(path: str | Path | None = None) -> Worker:
    """Read and check a worker file, and build its bundle."""
    worker_path = Path(path) if path is not None else DEFAULT_WORKER
    try:
        raw = worker_path.read_bytes()
    except FileNotFoundError:
        raise WorkerError(f"worker file not found: {worker_path}") from None
    except IsADirectoryError:
        raise WorkerError(f"worker path is a directory, not a file: {worker_path}") from None
    except OSError as error:
        raise WorkerError(f"cannot read worker file {worker_path}: {error.strerror}") from None
    if len(raw) > MAX_WORKER_BYTES:
        raise WorkerError(f"{worker_path}: larger than {MAX_WORKER_BYTES} bytes")
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkerError(f"{worker_path}: not UTF-8 text") from None
    script = to_script(source, worker_path.name)
    prelude = PRELUDE_PATH.read_text()
    return Worker(path=worker_path.resolve(), source=source, bundle=prelude + "\n" + script)
