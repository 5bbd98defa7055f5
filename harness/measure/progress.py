"""Progress output for long measurements (rich, on stderr)."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_console = Console(stderr=True, highlight=False)


def console() -> Console:
    return _console


@contextmanager
def steps(description: str, total: int):
    """Yield an `advance()` callable; shows a bar on a terminal, a line otherwise."""
    if not _console.is_terminal:
        print(f"  {description}: {total} steps", file=sys.stderr, flush=True)
        yield lambda amount=1: None
        return
    with Progress(
        TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=_console, transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda amount=1: progress.advance(task, amount)


def note(message: str) -> None:
    _console.print(message)
