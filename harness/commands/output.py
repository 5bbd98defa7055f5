"""The output folder of a command: made if missing, bad input if it cannot be."""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError


def output_folder(value: str | Path) -> Path:
    folder = Path(value)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create output folder {folder}: {error.strerror}") from None
    return folder
