"""The results model: a pytest-benchmark JSON file (so `pytest-benchmark
compare` reads it) with isobench's run record under the key `isobench`.

Loading checks the shape and says in one line what is wrong; writing is
atomic (temporary file in the same folder, fsync, rename).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from harness.measure.metadata import SCHEMA


class ResultsError(Exception):
    """The file is missing, corrupt or not an isobench results file (one line)."""


@dataclass
class Benchmark:
    """One pytest-benchmark entry: a metric measured on a backend."""

    raw: dict

    @property
    def metric(self) -> str:
        return self.raw.get("extra_info", {}).get("metric") or self.raw.get("group", "")

    @property
    def backend(self) -> str:
        return self.raw.get("extra_info", {}).get("backend") or self.raw.get("params", {}).get("backend_name", "")

    @property
    def samples(self) -> list[float]:
        """Raw timed samples in seconds (pytest-benchmark's stats.data)."""
        return list(self.raw.get("stats", {}).get("data") or [])

    @property
    def extra(self) -> dict:
        return self.raw.get("extra_info", {})


@dataclass
class Results:
    path: Path | None
    raw: dict

    @property
    def record(self) -> dict:
        return self.raw["isobench"]

    @property
    def machine(self) -> dict:
        return self.raw.get("machine_info", {}).get("isobench", {})

    @property
    def status(self) -> str:
        return self.record.get("status", "unknown")

    @property
    def benchmarks(self) -> list[Benchmark]:
        return [Benchmark(entry) for entry in self.raw.get("benchmarks", [])]

    def find(self, backend: str, metric: str) -> Benchmark | None:
        for bench in self.benchmarks:
            if bench.backend == backend and bench.metric == metric:
                return bench
        return None

    def backend_names(self) -> list[str]:
        names = list(self.record.get("backends", {}))
        for bench in self.benchmarks:
            if bench.backend and bench.backend not in names:
                names.append(bench.backend)
        return names


def parse(raw: object, where: str = "results") -> Results:
    if not isinstance(raw, dict):
        raise ResultsError(f"{where}: not a JSON object")
    if "benchmarks" not in raw or not isinstance(raw["benchmarks"], list):
        raise ResultsError(f"{where}: no 'benchmarks' list; not a pytest-benchmark results file")
    record = raw.get("isobench")
    if not isinstance(record, dict) or "schema" not in record:
        raise ResultsError(f"{where}: no 'isobench' record; a pytest-benchmark file, but not written by isobench")
    if record["schema"] != SCHEMA:
        raise ResultsError(f"{where}: schema {record['schema']!r} is not supported (expected {SCHEMA!r})")
    for index, entry in enumerate(raw["benchmarks"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("stats"), dict):
            raise ResultsError(f"{where}: benchmark #{index} has no stats")
    return Results(None, raw)


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


def load(path: str | Path) -> Results:
    file = Path(path)
    raw = read_json(file)
    results = parse(raw, str(file))
    results.path = file
    return results


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write a file so that readers see the old content or the new, never a mix."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
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


def save(results: Results, path: str | Path) -> Path:
    """Atomically; gzip-compressed compact JSON when the name ends in .gz."""
    if Path(path).suffix == ".gz":
        return write_atomic(path, gzip.compress(json.dumps(results.raw, separators=(",", ":")).encode(), mtime=0))
    return write_atomic(path, json.dumps(results.raw, indent=2, sort_keys=False) + "\n")
