"""The containment results file: written atomically (harness.results.store.write_atomic),
loaded with a one-line error when it is missing, corrupt or not one."""

from __future__ import annotations

import json
from pathlib import Path

from harness.containment.matrix import SCHEMA
from harness.results.store import ResultsError, read_json, write_atomic


def save(record: dict, out_dir: Path, stamp: str) -> Path:
    text = json.dumps(record, indent=2) + "\n"
    path = write_atomic(out_dir / f"containment-{stamp}.json", text)
    write_atomic(out_dir / "containment-latest.json", text)
    return path


def load(path: str | Path) -> dict:
    file = Path(path)
    raw = read_json(file, "containment results file")
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        found = raw.get("schema") if isinstance(raw, dict) else None
        raise ResultsError(f"{file}: not a containment results file (schema {found!r}, expected {SCHEMA!r})")
    if not isinstance(raw.get("pairs"), list) or not isinstance(raw.get("backends"), dict):
        raise ResultsError(f"{file}: containment results without 'pairs' and 'backends'")
    for index, pair in enumerate(raw["pairs"]):
        if not isinstance(pair, dict) or not {"backend", "workload", "contained"} <= set(pair):
            raise ResultsError(f"{file}: pair #{index} lacks backend, workload or contained")
    return raw
