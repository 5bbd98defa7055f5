"""Reading and writing results files.

Loading checks the shape and says in one line what is wrong; writing is
atomic (a temporary file in the same folder, fsync, rename). A name ending in
.gz is gzip-compressed compact JSON.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import zlib
from pathlib import Path

from harness.results.model import ResultsError, Run, WorkloadSet, set_from_json, set_to_json, to_json

__all__ = ["ResultsError", "read_json", "write_atomic", "load", "load_set", "save", "dumps"]


def read_json(path: str | Path, what: str = "results file") -> object:
    """The JSON in a file (gzip-compressed when its name ends in .gz), or
    ResultsError saying in one line why not."""
    file = Path(path)
    try:
        data = file.read_bytes()
        text = (gzip.decompress(data) if file.suffix == ".gz" else data).decode()
    except FileNotFoundError:
        raise ResultsError(f"{what} not found: {file}") from None
    except IsADirectoryError:
        raise ResultsError(f"{file} is a directory, not a {what}") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:  # gzip.BadGzipFile is an OSError
        raise ResultsError(f"cannot read {file}: {error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(f"{file}: corrupt JSON (line {error.lineno}: {error.msg})") from None


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write a file so that readers see the old content or the new, never a mix."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    return target


def load(path: str | Path) -> Run:
    """A run; from a workload-set file, its primary run (the hello workload when it has one)."""
    return load_set(path).primary


def load_set(path: str | Path) -> WorkloadSet:
    """Every workload in a file: a plain run file is a set of one."""
    file = Path(path)
    return set_from_json(read_json(file), str(file)).with_path(str(file))


def dumps(run: Run | WorkloadSet, compact: bool = False) -> str:
    raw = set_to_json(run) if isinstance(run, WorkloadSet) else to_json(run)
    if compact:
        return json.dumps(raw, separators=(",", ":"))
    return json.dumps(raw, indent=1) + "\n"


def save(run: Run | WorkloadSet, path: str | Path) -> Path:
    """Atomically; gzip-compressed compact JSON when the name ends in .gz."""
    if Path(path).suffix == ".gz":
        return write_atomic(path, gzip.compress(dumps(run, compact=True).encode(), mtime=0))
    return write_atomic(path, dumps(run))

