"""What commands share: the output folder (made if missing, bad input if it
cannot be), and SIGTERM taken as Ctrl-C while a command measures."""

from __future__ import annotations

import signal
from contextlib import contextmanager
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


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt inside the block, so it saves and cleans up as Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
